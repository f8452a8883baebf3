"""A 503 (the service shedding load) tells the client when to come back."""

from __future__ import annotations

import asyncio

from {{ cookiecutter.package_name }}.serve.shedding import RETRY_AFTER_SECONDS, RetryAfterWhenShedding


def answering(status: int, headers: list | None = None):
    """A plain ASGI app that answers `status` to every request."""

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": status, "headers": headers or []})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


def headers_of(app) -> dict[bytes, bytes]:
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/predict", "headers": []}
    asyncio.run(RetryAfterWhenShedding(app)(scope, receive, send))
    assert sent[-1]["type"] == "http.response.body"
    return dict(sent[0]["headers"])


def test_a_503_carries_retry_after():
    assert headers_of(answering(503))[b"retry-after"] == str(RETRY_AFTER_SECONDS).encode()


def test_a_retry_after_the_app_set_is_kept():
    assert headers_of(answering(503, [(b"Retry-After", b"5")])) == {b"Retry-After": b"5"}


def test_other_answers_are_left_alone():
    assert headers_of(answering(200)) == {}
    assert headers_of(answering(429)) == {}
