"""A baked project serves its model: the built bento answers as batch `predict` does."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from conftest import bake, project_env, run_cli

PACKAGE = "demand_forecast"
READY_WITHIN_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, payload: object) -> tuple[int, object]:
    call = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(call, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def serve(tag: str, bentoml_home: Path, workdir: Path):
    """Start `bentoml serve <tag>` from outside the project; return (process, base URL)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the bento's code only
    log = (workdir / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bentoml", "serve", tag, "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir,
        # PWD as a shell sets it: the service logs under the directory it is served from, which
        # would otherwise be inherited from pytest's (the template's own folder)
        env={**env, "BENTOML_HOME": str(bentoml_home), "PWD": str(workdir)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.slow
def test_the_served_bento_answers_as_batch_predict_does(cookies, tmp_path):
    project = bake(cookies)
    home = tmp_path / "bentoml"
    env = {**project_env(project), "BENTOML_HOME": str(home)}
    run_cli(project, PACKAGE, "train", "--out", "models/champion")
    rows = tmp_path / "rows.csv"
    pd.read_csv(project / "data" / "train.csv").head(300).to_csv(rows, index=False)
    run_cli(
        project,
        PACKAGE,
        "predict",
        "--model",
        "models/champion",
        "--input",
        str(rows),
        "--out",
        str(tmp_path / "predictions.csv"),
    )
    built = subprocess.run(
        [sys.executable, "-m", PACKAGE, "bento", "--model", "models/champion"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    tag = built.stdout.strip().splitlines()[-1]

    process, base = serve(tag, home, tmp_path)
    try:
        deadline = time.monotonic() + READY_WITHIN_SECONDS
        while not ready(f"{base}/readyz"):
            assert process.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the bento did not become ready"
            time.sleep(0.5)
        status, answer = post(f"{base}/predict", {"rows": pd.read_csv(rows).to_dict("records")})
    finally:
        stop(process)

    assert status == 200, answer
    expected = pd.read_csv(tmp_path / "predictions.csv")["prediction"]
    served = [item["prediction"] for item in answer]
    assert served == pytest.approx(expected.tolist(), rel=1e-9)
