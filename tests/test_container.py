"""The release image, built and run for real: podman builds the bento's image, the container
answers /readyz and /predict as batch `predict` does, as a non-root user, and its Python
packages are exactly uv.lock's (the serve extra, dependencies included).

No registry is reachable here, so the image's FROM is a Debian base made with debootstrap and
`podman import`, cached in podman's store under a tag of the day. The bento is built with
`bento --base-image` for this test only; the release builds on container/Dockerfile's
base, pinned by digest.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest

from conftest import bake, project_env, run_cli
from test_serving import free_port, post, ready

PACKAGE = "demand_forecast"
PODMAN = shutil.which("podman")
BASE_REPOSITORY = "localhost/gitops-mlops-test-base"
BASE_IMAGE = f"{BASE_REPOSITORY}:bookworm-{datetime.date.today():%Y%m%d}"
# bash, pip (BentoML installs uv with it), useradd (the non-root user), the trainer's Python
BASE_PACKAGES = "python3,python3-venv,python3-pip,passwd,ca-certificates"
READY_WITHIN_SECONDS = 180
# what the image's installer may add beside the lock's packages (none of them is imported)
INSTALLER_TOOLS = {"pip", "setuptools", "wheel", "uv"}
INSTALLED = (
    "import importlib.metadata as m, json; "
    "print(json.dumps([[d.metadata['Name'], d.version] for d in m.distributions()]))"
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        PODMAN is None, reason="podman is not installed (.ci/podman-setup installs it as root)"
    ),
]


def podman(*args: str, timeout: int = 600, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [PODMAN, *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )
    if done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


def debian_mirror() -> str:
    """The Debian mirror apt already uses here (deb822 or one-line sources), else the default."""
    sources = [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
    for source in sources:
        text = source.read_text(errors="replace") if source.is_file() else ""
        for uri in re.findall(r"^(?:URIs:|deb)\s+(\S+)", text, flags=re.MULTILINE):
            if uri.rstrip("/").endswith("/debian"):
                return uri
    return "http://deb.debian.org/debian"


def build_base_image() -> None:
    """debootstrap a minimal bookworm and import it; the host's extra CAs are trusted too."""
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        pytest.skip("building the local base image needs root and debootstrap")
    with tempfile.TemporaryDirectory(prefix="rootfs-") as scratch:
        rootfs = Path(scratch) / "rootfs"
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}",
             "bookworm", str(rootfs), debian_mirror()],
            check=True, capture_output=True, timeout=900,
        )  # fmt: skip
        # A TLS-inspecting proxy's CA (as on this machine) must be trusted inside the build too.
        for cert in Path("/usr/local/share/ca-certificates").glob("*.crt"):
            shutil.copy(cert, rootfs / "usr/local/share/ca-certificates" / cert.name)
        subprocess.run(["chroot", str(rootfs), "update-ca-certificates"], check=True)
        for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        podman(
            "import",
            "--change", "ENV PIP_BREAK_SYSTEM_PACKAGES=1",  # Debian's pip guards the system
            "--change", "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",  # for uv
            "--change", 'CMD ["/bin/bash"]',
            "-", BASE_IMAGE,
            stdin=tar.stdout,
        )  # fmt: skip
        assert tar.wait() == 0


@pytest.fixture(scope="module")
def base_image() -> str:
    """Today's base image: built once a day, older ones removed."""
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the local Debian bookworm base image has Python 3.11 only")
    listed = podman("images", "--format", "{{.Repository}}:{{.Tag}}", BASE_REPOSITORY).stdout
    if BASE_IMAGE not in listed.split():
        build_base_image()
    for stale in set(listed.split()) - {BASE_IMAGE}:
        subprocess.run([PODMAN, "rmi", stale], capture_output=True)
    return BASE_IMAGE


@dataclass(frozen=True)
class ReleaseImage:
    project: Path
    image: str
    workdir: Path  # rows.csv and batch predict's predictions.csv for them
    build_seconds: float


@pytest.fixture(scope="module")
def release_image(cookies_session, tmp_path_factory, base_image):
    """The default project's release image, built once for this module's tests."""
    project = bake(cookies_session)
    workdir = tmp_path_factory.mktemp("release-image")
    env = {**project_env(project), "BENTOML_HOME": str(workdir / "bentoml")}
    run_cli(project, PACKAGE, "train", "--out", "models/release")
    rows = pd.read_csv(project / "data" / "train.csv").sample(200, random_state=0)
    rows.to_csv(workdir / "rows.csv", index=False)
    run_cli(project, PACKAGE, "predict", "--model", "models/release",
            "--input", str(workdir / "rows.csv"),
            "--out", str(workdir / "predictions.csv"))  # fmt: skip
    built = subprocess.run(
        [sys.executable, "-m", PACKAGE, "bento", "--model", "models/release",
         "--base-image", base_image],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    tag = built.stdout.strip().splitlines()[-1]
    image = f"localhost/{tag.replace(':', '-test:')}"

    started = time.monotonic()
    containerized = subprocess.run(
        [sys.executable, "-m", "bentoml", "containerize", "--backend", "podman", tag,
         "--image-tag", image],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    build_seconds = time.monotonic() - started
    log = containerized.stdout[-3000:] + containerized.stderr[-3000:]
    assert containerized.returncode == 0, log
    try:
        yield ReleaseImage(project, image, workdir, build_seconds)
    finally:
        subprocess.run([PODMAN, "rmi", "--force", image], capture_output=True)


def test_the_release_image_serves_as_batch_predict_does_as_a_non_root_user(release_image, capsys):
    image, workdir = release_image.image, release_image.workdir
    size = int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout)
    with capsys.disabled():
        print(
            f"\n{image}: {size / 1e6:.0f} MB, built in {release_image.build_seconds:.0f} s", end=" "
        )
    served, user, installed = serve_in_container(image, workdir / "rows.csv", workdir)

    assert user["uid"] != "0" and user["name"] == "bentoml"
    locked = lock_versions(release_image.project)
    assert {name: installed.get(name) for name in locked} == locked  # each at the lock's version
    assert set(installed) - set(locked) <= INSTALLER_TOOLS, set(installed) - set(locked)
    expected = pd.read_csv(workdir / "predictions.csv")["prediction"]
    assert served == pytest.approx(expected.tolist(), rel=1e-9)


def lock_versions(project: Path) -> dict[str, str]:
    """uv.lock's serve extra for this Python, as `bento` exports it into the image."""
    sys.path.insert(0, str(project / "src"))
    try:
        from demand_forecast.serve.bento import locked_requirements, locked_versions
    finally:
        sys.path.remove(str(project / "src"))
    python = ".".join(map(str, sys.version_info[:3]))
    with mock.patch.dict(os.environ, {"PATH": project_env(project)["PATH"]}):  # uv, as in CI
        return locked_versions(locked_requirements(project), python)


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def serve_in_container(image: str, rows: Path, workdir: Path) -> tuple[list, dict, dict]:
    """Run the image on a loopback port; return its predictions for `rows`, its user and its
    installed Python packages (name -> version) as the serving Python sees them."""
    name = f"smoke-{workdir.name}"[:60]
    port = free_port()
    podman("run", "--detach", "--name", name, "--publish", f"127.0.0.1:{port}:3000", image)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_WITHIN_SECONDS
        while not ready(f"{base}/readyz"):
            state = podman("inspect", "--format", "{{.State.Running}}", name).stdout.strip()
            if state != "true" or time.monotonic() > deadline:
                logs = subprocess.run([PODMAN, "logs", name], capture_output=True, text=True)
                pytest.fail(f"the container is not ready:\n{(logs.stdout + logs.stderr)[-3000:]}")
            time.sleep(1)
        status, answer = post(f"{base}/predict", {"rows": pd.read_csv(rows).to_dict("records")})
        assert status == 200, answer
        uid = podman("exec", name, "id", "-u").stdout.strip()
        user = podman("exec", name, "id", "-un").stdout.strip()
        listed = json.loads(podman("exec", name, "python", "-c", INSTALLED).stdout)
    finally:
        subprocess.run([PODMAN, "rm", "--force", name], capture_output=True)
    installed = {normal(package): version for package, version in listed}
    return [item["prediction"] for item in answer], {"uid": uid, "name": user}, installed


def test_the_staging_deployment_runs_under_podman_kube_play_and_its_log_feeds_drift(
    release_image, tmp_path
):
    """deploy/overlays/staging, rendered by kubectl with the built image pinned by digest, runs
    under `podman kube play`; N posted rows give N log records on the hostPath volume, which
    `collect` turns into a file that `validate` and `drift` accept."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: it renders the staging overlay")
    project, port = release_image.project, free_port()
    logs = tmp_path / "prediction-logs"
    logs.mkdir()
    logs.chmod(0o777)  # the service writes as the image's user (uid 1034)
    manifest = tmp_path / "staging.yaml"
    manifest.write_text(render_for_podman(project, release_image.image, port, logs, kubectl))
    rows = pd.read_csv(release_image.workdir / "rows.csv")
    podman("--runtime", "runc", "kube", "play", str(manifest), timeout=300)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + READY_WITHIN_SECONDS
        while not ready(f"{base}/readyz"):
            assert time.monotonic() < deadline, podman("pod", "ps").stdout
            time.sleep(1)
        sizes = [1, 7, 50, 142]  # 200 rows in four requests
        starts = [sum(sizes[:index]) for index in range(len(sizes))]
        for start, size in zip(starts, sizes, strict=True):
            status, answer = post(
                f"{base}/predict", {"rows": rows.iloc[start : start + size].to_dict("records")}
            )
            assert status == 200 and len(answer) == size, answer
    finally:
        subprocess.run(
            [PODMAN, "--runtime", "runc", "kube", "down", str(manifest)], capture_output=True
        )

    records = [line for file in logs.glob("*.jsonl") for line in file.read_text().splitlines()]
    assert len(records) == len(rows)
    collected = tmp_path / "collected.csv"
    run_cli(project, PACKAGE, "collect", "--logs", str(logs), "--out", str(collected))
    assert len(pd.read_csv(collected)) == len(rows)
    run_cli(project, PACKAGE, "validate", str(collected))
    run_cli(
        project, PACKAGE, "drift", "--current", str(collected), "--out", str(tmp_path / "drift")
    )
    assert (tmp_path / "drift" / "drift.json").is_file()


def render_for_podman(project: Path, image: str, port: int, logs: Path, kubectl: str) -> str:
    """The staging overlay with this machine's differences, as a kustomize overlay over it:
    the local image by its digest, one replica on a loopback hostPort, the log on a host folder.
    Only the Deployment: `kube play` has no use for the Service, autoscaler or budget."""
    import yaml

    digest = podman("image", "inspect", "--format", "{{.Digest}}", image).stdout.strip()
    overlay = project / "deploy" / "overlays" / "podman-test"
    overlay.mkdir(exist_ok=True)
    name = project.name
    staging = yaml.safe_load((project / "deploy/overlays/staging/kustomization.yaml").read_text())
    released = staging["images"][0]["newName"]  # what staging pins: the registry's image
    container_patch = [
        {"op": "add", "path": "/spec/replicas", "value": 1},  # one pod per replica here
        {
            "op": "add",
            "path": "/spec/template/spec/containers/0/ports/0/hostPort",
            "value": port,
        },
        {
            "op": "add",
            "path": "/spec/template/spec/containers/0/ports/0/hostIP",
            "value": "127.0.0.1",
        },
        {
            "op": "replace",
            "path": "/spec/template/spec/volumes/0",
            "value": {
                "name": "prediction-logs",
                "hostPath": {"path": str(logs), "type": "Directory"},
            },
        },
    ]
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": ["../staging"],
                "images": [
                    {"name": released, "newName": image.rsplit(":", 1)[0], "digest": digest}
                ],
                "patches": [
                    {
                        "target": {"kind": "Deployment", "name": name},
                        "patch": yaml.safe_dump(container_patch),
                    }
                ],
            }
        )
    )
    done = subprocess.run(
        [kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    documents = [d for d in yaml.safe_load_all(done.stdout) if d and d["kind"] == "Deployment"]
    return yaml.safe_dump_all(documents)
