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


def test_the_release_image_serves_as_batch_predict_does_as_a_non_root_user(
    cookies, tmp_path, base_image, capsys
):
    project = bake(cookies)
    env = {**project_env(project), "BENTOML_HOME": str(tmp_path / "bentoml")}
    run_cli(project, PACKAGE, "train", "--out", "models/release")
    rows = pd.read_csv(project / "data" / "train.csv").sample(200, random_state=0)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    run_cli(project, PACKAGE, "predict", "--model", "models/release",
            "--input", str(tmp_path / "rows.csv"),
            "--out", str(tmp_path / "predictions.csv"))  # fmt: skip
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
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    build_seconds = time.monotonic() - started
    log = containerized.stdout[-3000:] + containerized.stderr[-3000:]
    assert containerized.returncode == 0, log
    try:
        size = int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout)
        with capsys.disabled():
            print(f"\n{image}: {size / 1e6:.0f} MB, built in {build_seconds:.0f} s", end=" ")
        served, user, installed = serve_in_container(image, tmp_path / "rows.csv", tmp_path)
    finally:
        subprocess.run([PODMAN, "rmi", "--force", image], capture_output=True)

    assert user["uid"] != "0" and user["name"] == "bentoml"
    locked = lock_versions(project)
    assert {name: installed.get(name) for name in locked} == locked  # each at the lock's version
    assert set(installed) - set(locked) <= INSTALLER_TOOLS, set(installed) - set(locked)
    expected = pd.read_csv(tmp_path / "predictions.csv")["prediction"]
    assert served == pytest.approx(expected.tolist(), rel=1e-9)


def lock_versions(project: Path) -> dict[str, str]:
    """uv.lock's serve extra for this Python, as `bento` exports it into the image."""
    sys.path.insert(0, str(project / "src"))
    try:
        from demand_forecast.bento import locked_requirements, locked_versions
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
