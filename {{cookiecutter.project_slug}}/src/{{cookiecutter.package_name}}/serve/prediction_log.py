"""The prediction log: one JSON line per row the service answered, and the middleware writing it.

Each record holds the request id (also sent back in the `X-Request-ID` header, so outcomes that
arrive later can be joined), the time, the model version (bento tag, model tag, git commit),
the row as the client sent it, and the answer (`prediction`, or `label` and `probabilities`).
`collect` turns these files into data the drift check reads.

Logging sits in an ASGI middleware rather than in the API method: with adaptive batching the
method receives the rows of several requests at once and cannot tell whose they are, whereas
the middleware sees each request with its own answer.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

# Overrides params.yaml's serving.log_dir: deploy/ points it at the pod's log volume. `off`
# turns the log off (the benchmark measures its cost that way).
LOG_DIR_ENV = "PREDICTION_LOG_DIR"
OFF = "off"
DEFAULT_LOG_DIR = "logs/predictions"
REQUEST_ID_HEADER = b"x-request-id"
LOGGED_PATH = "/predict"
# A client may send its own request id (to join outcomes by it); anything else gets a new one.
CLIENT_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


class PredictionLog:
    """Appends records to one file per process, `predictions-<host>-<pid>-<start>.jsonl`.

    A file per process means replicas and workers never write to the same file; within a
    process a lock and one write per request keep each request's records whole and in order.
    The file is opened on the first write, in the worker that writes it.
    """

    def __init__(self, directory: str | Path, version: dict[str, str]) -> None:
        self.directory = Path(directory)
        self.version = version
        self._lock = threading.Lock()
        self._file = None

    @classmethod
    def for_model(cls, stored: Any) -> PredictionLog | None:
        """The log of a BentoML model, where params or the environment say; None when off."""
        serving = stored.custom_objects["run"]["params"].get("serving") or {}
        directory = os.environ.get(LOG_DIR_ENV) or serving.get("log_dir")
        if directory == OFF:
            return None
        version = {"model": str(stored.tag), "git_commit": stored.info.labels.get("git-sha", "")}
        return cls(_from_where_served(Path(directory or DEFAULT_LOG_DIR)), version)

    def write(self, request_id: str, rows: list[dict], answers: list[dict]) -> None:
        """Append one record per row; all of a request's records in one write."""
        served_at = datetime.datetime.now(datetime.UTC).isoformat()
        header = {"request_id": request_id, "time": served_at, **self._version()}
        # the fields shared by a request's rows are encoded once (the log's cost is per row)
        shared = _encode(header)[:-1] + ', "row": '
        lines = "".join(
            shared + str(index) + ', "inputs": ' + _encode(row) + ', "output": '
            + _encode(answer) + "}\n"
            for index, (row, answer) in enumerate(zip(rows, answers, strict=True))
        )  # fmt: skip
        with self._lock:
            handle = self._file or self._open()
            handle.write(lines)
            handle.flush()  # the record is in the file before the client gets its answer

    def _version(self) -> dict[str, str]:
        import bentoml

        bento = bentoml.server_context.bento_name
        version = bentoml.server_context.bento_version
        return {"bento": f"{bento}:{version}" if bento and version else "", **self.version}

    def _open(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        started = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        name = f"predictions-{socket.gethostname()}-{os.getpid()}-{started}.jsonl"
        self._file = (self.directory / name).open("a", encoding="utf-8")
        return self._file


class LoggedPredictions:
    """ASGI middleware: gives every /predict request an id and logs each row it answered."""

    def __init__(self, app: Any, log: PredictionLog | None) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        logged = scope["type"] == "http" and scope["path"] == LOGGED_PATH
        if not (logged and scope["method"] == "POST" and self.log):
            await self.app(scope, receive, send)
            return
        request_id = _request_id(dict(scope["headers"]).get(REQUEST_ID_HEADER))
        request_body, answer = bytearray(), bytearray()
        # the status, the body's announced length, and whether the records were written
        response = {"status": 0, "length": None, "written": False}

        async def receive_and_keep() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                request_body.extend(message.get("body", b""))
            return message

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["length"] = _content_length(message.get("headers", []))
                headers = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and response["status"] == 200:
                answer.extend(message.get("body", b""))
                # BentoML sends the body with more_body=True and then an empty last message: a
                # client that read Content-Length bytes already has its answer by then, so the
                # records are written before the chunk that completes the body is sent
                length = response["length"]
                whole = not message.get("more_body", False) or (
                    length is not None and len(answer) >= length
                )
                if whole and not response["written"]:
                    response["written"] = True
                    self._write(request_id, bytes(request_body), bytes(answer))
            await send(message)

        await self.app(scope, receive_and_keep, send_with_id)

    def _write(self, request_id: str, request_body: bytes, answer: bytes) -> None:
        # a 200 means the service parsed the body and answered one item per row
        rows, answers = json.loads(request_body)["rows"], json.loads(answer)
        self.log.write(request_id, rows, answers)


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value)
    return None


def _from_where_served(directory: Path) -> Path:
    """A relative log folder is under the directory `bentoml serve` was started in.

    BentoML runs the service from the bento's own folder (in BENTOML_HOME), so the working
    directory the user sees is the shell's $PWD, which BentoML's workers inherit.
    """
    if directory.is_absolute():
        return directory
    started_in = os.environ.get("PWD", "")
    return (Path(started_in) if os.path.isdir(started_in) else Path.cwd()) / directory


def _request_id(sent: bytes | None) -> str:
    if sent and CLIENT_REQUEST_ID.fullmatch(sent):
        return sent.decode()
    return uuid.uuid4().hex
