"""deploy/: both overlays render with kubectl, validate against Kubernetes' schemas, and keep the
policies a cluster operator relies on (image by digest, probes, limits, not root)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from conftest import bake

# The Kubernetes version whose schemas the rendered manifests must satisfy (kubectl here is 1.32).
KUBERNETES_VERSION = "1.32.0"
ENVIRONMENTS = ("staging", "production")
DIGEST = re.compile(r"^[^@:]+(:\d+)?/[^@]+@sha256:[0-9a-f]{64}$")
IMAGE = "ghcr.io/your-github-user/demand-forecast"
KUBECTL = shutil.which("kubectl")

needs_kubectl = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl is not installed: it renders the kustomize overlays"
)


@pytest.fixture(scope="module")
def project(cookies_session) -> Path:
    return bake(cookies_session)


def render(overlay: Path) -> list[dict]:
    done = subprocess.run(
        [KUBECTL, "kustomize", str(overlay)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [document for document in yaml.safe_load_all(done.stdout) if document]


@pytest.fixture(scope="module")
def rendered(project) -> dict[str, list[dict]]:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed: it renders the kustomize overlays")
    return {env: render(project / "deploy" / "overlays" / env) for env in ENVIRONMENTS}


def of_kind(documents: list[dict], kind: str) -> list[dict]:
    return [document for document in documents if document["kind"] == kind]


def the_deployment(documents: list[dict]) -> dict:
    (deployment,) = of_kind(documents, "Deployment")
    return deployment


@needs_kubectl
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_overlay_renders_a_deployment_service_autoscaler_and_disruption_budget(rendered, env):
    kinds = sorted(document["kind"] for document in rendered[env])
    expected = ["Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service"]
    if env == "production":
        expected.append("PersistentVolumeClaim")
    assert kinds == sorted(expected)
    assert {document["metadata"]["namespace"] for document in rendered[env]} == {
        f"demand-forecast-{env}"
    }


@needs_kubectl
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_rendered_manifest_is_valid_for_the_pinned_kubernetes_version(rendered, env):
    for document in rendered[env]:
        # strict: an unknown field (a typo in a patch) is an error, not silently dropped
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_what_a_cluster_would_reject():
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"selector": {}, "template": {"spec": {"containers": [{"image": "x"}]}}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)  # no container name


@needs_kubectl
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_image_is_pinned_by_digest(rendered, env):
    (container,) = the_deployment(rendered[env])["spec"]["template"]["spec"]["containers"]
    assert DIGEST.match(container["image"]), container["image"]
    assert container["image"].startswith(IMAGE + "@")


@needs_kubectl
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_service_is_probed_limited_and_not_root(rendered, env):
    pod = the_deployment(rendered[env])["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": 3000}]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


@needs_kubectl
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_prediction_log_goes_to_a_mounted_volume(rendered, env):
    pod = the_deployment(rendered[env])["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    log_dir = {item["name"]: item.get("value") for item in container["env"]}["PREDICTION_LOG_DIR"]
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == log_dir]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    # staging keeps it in the pod; production on a claim that outlives the pods
    expected = {"staging": "emptyDir", "production": "persistentVolumeClaim"}[env]
    assert set(volume) == {"name", expected}


@needs_kubectl
def test_the_environments_differ_in_size(rendered):
    def bounds(env: str) -> tuple[int, int, str]:
        (hpa,) = of_kind(rendered[env], "HorizontalPodAutoscaler")
        (container,) = the_deployment(rendered[env])["spec"]["template"]["spec"]["containers"]
        return hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"], container["resources"]

    staging, production = bounds("staging"), bounds("production")
    assert staging[:2] == (1, 2) and production[:2] == (3, 10)
    assert staging[2] != production[2]


@needs_kubectl
def test_every_selector_picks_only_this_services_pods(rendered):
    documents = rendered["production"]
    labels = the_deployment(documents)["spec"]["template"]["metadata"]["labels"]
    (service,) = of_kind(documents, "Service")
    (budget,) = of_kind(documents, "PodDisruptionBudget")
    assert service["spec"]["selector"] == labels
    assert budget["spec"]["selector"]["matchLabels"] == labels


@needs_kubectl
def test_the_optional_service_monitor_scrapes_metrics(project, tmp_path):
    # an overlay of the user's that adds the component (kustomize wants relative paths)
    shutil.copytree(project / "deploy", tmp_path / "deploy")
    overlay = tmp_path / "deploy" / "overlays" / "monitored"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {"resources": ["../staging"], "components": ["../../components/service-monitor"]}
        )
    )
    (monitor,) = of_kind(render(overlay), "ServiceMonitor")
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_argo_cd_application_syncs_its_overlay_from_main(project, env):
    app = yaml.safe_load((project / "deploy" / "argocd" / f"{env}.yaml").read_text())
    assert app["kind"] == "Application"
    assert app["spec"]["source"]["path"] == f"deploy/overlays/{env}"
    assert app["spec"]["source"]["targetRevision"] == "main"
    assert app["spec"]["source"]["repoURL"].endswith("/your-github-user/demand-forecast.git")
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert app["spec"]["destination"]["namespace"] == f"demand-forecast-{env}"
