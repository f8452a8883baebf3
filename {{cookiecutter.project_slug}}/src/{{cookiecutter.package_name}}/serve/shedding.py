"""Load shedding, said plainly: a 503 from the service carries `Retry-After`.

BentoML's adaptive batcher refuses a request (503) when it estimates the request cannot be
answered within the API's `max_latency_ms`: the service is behind, and waiting helps. Clients
and load balancers read `Retry-After` to back off instead of retrying at once.
"""

from __future__ import annotations

from typing import Any

RETRY_AFTER_SECONDS = 1


class RetryAfterWhenShedding:
    """ASGI middleware: adds `Retry-After` to every 503 that has none."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_retry_after(message: dict) -> None:
            if message["type"] == "http.response.start" and message["status"] == 503:
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"retry-after" for name, _ in headers):
                    headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_retry_after)
