"""The bento, built and served for real: right answers for good rows, a 4xx for every bad one.

One bento is built and one server started for the whole module (BentoML's store lives in a
temporary BENTOML_HOME); the server is always stopped, even when a test fails.
"""

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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.data.tables import read_table
from {{ cookiecutter.package_name }}.data.validation import validate_frame
from {{ cookiecutter.package_name }}.model.artifacts import load_model
from {{ cookiecutter.package_name }}.serve.bento import locked_requirements, locked_versions, pinned_base_image

from conftest import (
    CONTRACT,
    PARAMS,
    PROJECT,
    not_allowed,
    numeric_feature,
    out_of_range,
    required_feature,
)

pytestmark = pytest.mark.slow

FEATURES = PARAMS.features.all
READY_WITHIN_SECONDS = 120


@pytest.fixture(scope="module")
def bentoml_home(tmp_path_factory):
    return tmp_path_factory.mktemp("bentoml_home")


@pytest.fixture(scope="module")
def built(trained_model_dir, bentoml_home, tmp_path_factory):
    """Run `bento` as the release workflow does; return (tag, GITHUB_OUTPUT file)."""
    github_output = tmp_path_factory.mktemp("gh") / "output"
    done = subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", "bento", "--model", str(trained_model_dir)],
        cwd=PROJECT,
        env={
            **os.environ,
            "PYTHONPATH": str(PROJECT / "src"),
            "BENTOML_HOME": str(bentoml_home),
            "GITHUB_OUTPUT": str(github_output),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1], github_output


@pytest.fixture(scope="module")
def bento_dir(built, bentoml_home) -> Path:
    name, version = built[0].split(":")
    return bentoml_home / "bentos" / name / version


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def serve_dir(tmp_path_factory) -> Path:
    """Where `bentoml serve` runs: the prediction log goes under it (serving.log_dir)."""
    return tmp_path_factory.mktemp("cwd")


@pytest.fixture(scope="module")
def server(built, bentoml_home, serve_dir, tmp_path_factory):
    """`bentoml serve <tag>` on a free loopback port; yields the base URL."""
    port = free_port()
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("w")
    # No PYTHONPATH: the server must run the bento's own copy of the code, not the checkout.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bentoml",
            "serve",
            built[0],
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=serve_dir,
        # PWD as a shell sets it: the prediction log goes under the directory served from
        env={**env, "BENTOML_HOME": str(bentoml_home), "PWD": str(serve_dir)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so its workers stop with it
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, process, Path(log.name))
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def wait_until_ready(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"bentoml serve exited {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if request(base, "GET", "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"not ready within {READY_WITHIN_SECONDS} s:\n{log.read_text()[-3000:]}")


def request(
    base: str,
    method: str,
    path: str,
    body: bytes | None = None,
    content_type: str = "application/json",
):
    """(status, parsed JSON or text) of one HTTP call; 4xx and 5xx are returned, not raised."""
    call = urllib.request.Request(
        base + path, data=body, method=method, headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(call, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


def post_rows(base: str, rows: list) -> tuple[int, object]:
    return request(base, "POST", "/predict", json.dumps({"rows": rows}).encode())


def json_rows(frame: pd.DataFrame) -> list[dict]:
    """Rows as a JSON client sends them: ISO dates, null for a missing value."""
    return json.loads(frame.to_json(orient="records", date_format="iso"))


@pytest.fixture(scope="module")
def rows(sample_file) -> list[dict]:
    return json_rows(read_table(sample_file)[FEATURES].head(120))


def test_the_bento_carries_only_the_service_code_and_a_dockerfile(bento_dir):
    assert (bento_dir / "env" / "docker" / "Dockerfile").is_file()
    package = bento_dir / "src" / "{{ cookiecutter.package_name }}"
    shipped = {path.name for path in package.rglob("*.py")}
    assert "service.py" in shipped
    assert not shipped & {"train.py", "demo.py", "dataset.py", "cli.py", "evaluate.py"}
    assert not (bento_dir / "src" / "data").exists()


def test_the_bento_installs_exactly_the_lock_on_the_pinned_base_and_labels_its_provenance(
    bento_dir, trained_model_dir
):
    run = json.loads((trained_model_dir / "run.json").read_text())
    requirements = (bento_dir / "env" / "python" / "requirements.txt").read_text()
    python = run["packages"]["python"]
    # every package of the serve extra, dependencies included, at uv.lock's version
    assert locked_versions(requirements, python) == locked_versions(locked_requirements(), python)
    assert locked_versions(requirements, python)["scikit-learn"] == run["packages"]["scikit-learn"]
    dockerfile = (bento_dir / "env" / "docker" / "Dockerfile").read_text()
    assert f"FROM {pinned_base_image()}" in dockerfile and "@sha256:" in pinned_base_image()
    labels = yaml.safe_load((bento_dir / "bento.yaml").read_text())["labels"]
    assert labels["data-sha256"] == run["data"]["sha256"]
    assert "git-sha" in labels
    metrics = json.loads((trained_model_dir / "metrics.json").read_text())
    assert {f"holdout-{name}" for name in metrics} <= set(labels)


def test_the_tag_goes_to_github_output(built):
    tag, github_output = built
    assert f"tag={tag}" in github_output.read_text().splitlines()


def test_health_and_metrics_endpoints_answer(server):
    assert request(server, "GET", "/readyz")[0] == 200
    assert request(server, "GET", "/livez")[0] == 200
    status, text = request(server, "GET", "/metrics")
    assert status == 200 and "bentoml" in text


def served(answer: list[dict], model) -> list:
    """The numbers of an answer: predictions, or each class's probability in the model's order."""
    if model.task == "classification":
        return [[item["probabilities"][str(label)] for label in model.classes] for item in answer]
    return [item["prediction"] for item in answer]


def test_served_predictions_equal_the_pipelines_own(server, rows, trained_model_dir):
    status, answer = post_rows(server, rows)
    assert status == 200, answer
    model = load_model(trained_model_dir)
    expected = model.predict(read_table_of(rows))
    assert len(answer) == len(rows)
    np.testing.assert_allclose(served(answer, model), expected, rtol=1e-12)
    if model.task == "classification":
        labels = [str(label) for label in model.labels_of(expected)]
        assert [str(item["label"]) for item in answer] == labels


def read_table_of(rows: list[dict]) -> pd.DataFrame:
    """The rows as batch predict reads them: validated and coerced by the inputs schema."""
    frame, report = validate_frame(pd.DataFrame(rows), CONTRACT.inputs, "rows")
    assert report.valid, report.as_text()
    return frame


def test_served_predictions_equal_batch_predict_on_the_same_file(
    server, sample_file, trained_model_dir
):
    model = load_model(trained_model_dir)
    records = read_table(sample_file).head(50)
    status, answer = post_rows(server, json_rows(records))  # extra columns are ignored
    assert status == 200, answer
    expected = model.predict(read_table_of(json_rows(records[FEATURES])))
    np.testing.assert_allclose(served(answer, model), expected, rtol=1e-12)


def bad_row(rows: list[dict], field: str, value: object) -> list[dict]:
    """Two rows, the second with `field` set to `value` (... leaves the field out)."""
    row = {**rows[0], field: value}
    return [rows[1], {k: v for k, v in row.items() if v is not ...}]


def bad_case(case: str) -> tuple[str, object] | None:
    """(field, value) for one kind of bad row, taken from the schema; None when it has none."""
    if case == "missing field":
        return required_feature(), ...
    if case == "wrong type":
        number = numeric_feature()
        return (number, "cheap") if number else None
    if case == "out of range":
        found = out_of_range()
        return found[:2] if found else None
    return not_allowed()  # "not an allowed value"


@pytest.mark.parametrize("case", ["missing field", "wrong type", "out of range", "not allowed"])
def test_a_bad_row_gets_a_4xx_naming_the_row_and_the_field(server, rows, case):
    found = bad_case(case)
    if found is None:
        pytest.skip(f"the project's schema has no column for a {case} case")
    field, value = found
    status, answer = post_rows(server, bad_row(rows, field, value))
    assert 400 <= status < 500, (case, status, answer)
    assert [1, field] in [error["loc"][1:] for error in answer["detail"]], answer


def test_an_empty_list_gets_a_4xx(server):
    status, answer = post_rows(server, [])
    assert 400 <= status < 500
    assert ["rows"] in [error["loc"] for error in answer["detail"]]


def test_too_many_rows_get_a_4xx(server, rows):
    status, _ = post_rows(server, rows * 10)  # 1200 rows, over the limit of 1000
    assert 400 <= status < 500


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"rows": [', "application/json"),
        (b"rows=1", "application/x-www-form-urlencoded"),
        (b"{}", "multipart/form-data"),
        (json.dumps({"rows": dict(column="a mapping, not a list")}).encode(), "application/json"),
    ],
)
def test_a_malformed_body_gets_a_4xx_with_a_reason(server, body, content_type):
    status, answer = request(server, "POST", "/predict", body, content_type)
    assert 400 <= status < 500, (status, answer)
    assert answer["error"]


def test_fuzzing_the_openapi_document_finds_no_server_error(server, tmp_path):
    """Schemathesis generates valid and invalid requests from /docs.json: none may get a 5xx."""
    schemathesis = Path(sys.executable).with_name("st")
    done = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{server}/docs.json",
            "--url",
            server,
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "30",
            "--seed",
            "0",
            "--generation-database",
            "none",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:]


def post_with_id(base: str, rows: list, request_id: str | None = None) -> tuple[int, str, list]:
    """(status, the X-Request-ID answered, the answer) of one /predict call.

    A 503 (the service shedding load) is retried after its Retry-After, as a client should.
    """
    headers = {"Content-Type": "application/json"}
    if request_id:
        headers["X-Request-ID"] = request_id
    body = json.dumps({"rows": rows}).encode()
    for _ in range(20):
        call = urllib.request.Request(base + "/predict", data=body, headers=headers)
        try:
            with urllib.request.urlopen(call, timeout=60) as response:
                answer = json.loads(response.read())
                return response.status, response.headers["X-Request-ID"], answer
        except urllib.error.HTTPError as error:
            if error.code != 503:
                raise
            time.sleep(float(error.headers["Retry-After"]))
    pytest.fail("/predict kept answering 503")


def logged(serve_dir: Path) -> list[dict]:
    files = sorted((serve_dir / PARAMS.serving.log_dir).glob("predictions-*.jsonl"))
    return [json.loads(line) for file in files for line in file.read_text().splitlines()]


def test_concurrent_requests_log_every_row_exactly_once(server, serve_dir, rows):
    # 40 requests of 1 to 7 rows from 8 threads at once: the batcher merges them
    sizes = [1 + index % 7 for index in range(40)]
    starts = np.cumsum([0, *sizes])[:-1]
    batches = [
        [rows[(s + i) % len(rows)] for i in range(n)] for s, n in zip(starts, sizes, strict=True)
    ]
    ids = [f"concurrent-{index}" for index in range(len(batches))]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda b, i: post_with_id(server, b, i), batches, ids))

    records = logged(serve_dir)
    by_request = {}
    for record in records:
        by_request.setdefault(record["request_id"], []).append(record)
    for batch, (status, request_id, answer) in zip(batches, answers, strict=True):
        assert status == 200
        mine = by_request[request_id]
        assert [record["row"] for record in mine] == list(range(len(batch)))  # none lost or twice
        assert [record["inputs"] for record in mine] == batch
        assert [record["output"] for record in mine] == answer
    assert len({(r["request_id"], r["row"]) for r in records}) == len(records)


def test_each_record_names_the_model_version_and_time(server, serve_dir, rows, built):
    status, request_id, _ = post_with_id(server, rows[:2], request_id="order-42.line-7")
    assert (status, request_id) == (200, "order-42.line-7")  # a client's own id is kept
    assert len(post_with_id(server, rows[:1])[1]) == 32  # else the service makes one
    mine = [record for record in logged(serve_dir) if record["request_id"] == request_id]
    assert len(mine) == 2
    assert mine[0]["bento"] == built[0]
    assert mine[0]["model"].startswith("{{ cookiecutter.package_name }}:")
    assert mine[0]["git_commit"]
    assert abs(pd.Timestamp(mine[0]["time"]) - pd.Timestamp.now(tz="UTC")).total_seconds() < 60


def test_a_refused_request_is_not_logged(server, serve_dir):
    before = len(logged(serve_dir))
    assert post_rows(server, [])[0] in range(400, 500)
    assert len(logged(serve_dir)) == before
