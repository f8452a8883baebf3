"""The prediction log's middleware: the rows answered are in the log before the client has them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

# the response BentoML's JSON APIs answer with (a private module: requirements.lock pins it)
from _bentoml_sdk.io_models import IterableResponse

from {{ cookiecutter.package_name }}.serve.prediction_log import LoggedPredictions, PredictionLog

VERSION = {"model": "model:1", "git_commit": "abc123"}
ROWS = [{"x": 1}, {"x": 2}]
ANSWERS = [{"prediction": 0.5}, {"prediction": 1.5}]


async def bentoml_answering(scope, receive, send):
    """Reads the request, then answers with BentoML's own JSON response: Content-Length, the
    body with more_body=True, then an empty last message."""
    await receive()
    body = json.dumps(ANSWERS).encode()
    response = IterableResponse(
        content=[body], headers={"content-length": str(len(body))}, media_type="application/json"
    )
    await response(scope, receive, send)


def logged(directory: Path) -> list[dict]:
    return [
        json.loads(line)
        for file in sorted(directory.glob("predictions-*.jsonl"))
        for line in file.read_text(encoding="utf-8").splitlines()
    ]


def test_the_rows_are_on_disk_when_the_body_reaches_its_announced_length(tmp_path):
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/predict",
        "headers": [(b"x-request-id", b"order-8")],
    }
    rows_on_disk_as_each_message_leaves = []

    async def receive():
        return {"type": "http.request", "body": json.dumps({"rows": ROWS}).encode()}

    async def send(message):
        more = message.get("more_body", False)
        on_disk = len(logged(tmp_path))
        rows_on_disk_as_each_message_leaves.append((message["type"], more, on_disk))

    middleware = LoggedPredictions(bentoml_answering, log=PredictionLog(tmp_path, VERSION))
    asyncio.run(middleware(scope, receive, send))

    # The first body message carries every byte Content-Length announced, and a client may stop
    # reading there (urllib does): both rows are in the file before it leaves, and only once.
    assert rows_on_disk_as_each_message_leaves == [
        ("http.response.start", False, 0),
        ("http.response.body", True, 2),
        ("http.response.body", False, 2),
    ]
    records = logged(tmp_path)
    assert [(r["request_id"], r["row"], r["inputs"], r["output"]) for r in records] == [
        ("order-8", 0, ROWS[0], ANSWERS[0]),
        ("order-8", 1, ROWS[1], ANSWERS[1]),
    ]
