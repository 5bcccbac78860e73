"""ASGI middleware: request ids in logs and headers, latency metrics, body size limits."""

from __future__ import annotations

import time
import uuid

import structlog
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketing.api.problems import PAYLOAD_TOO_LARGE, problem
from ticketing.observability.metrics import Metrics

# Bodies are counted while they stream (chunked ones have no Content-Length to trust):
# the provider's webhook is a few hundred bytes, a buyer's request a few hundred more, and
# only an organiser's explicit seat list (up to 50,000 seats) needs megabytes.
WEBHOOK_BODY_BYTES = 16 * 1024
ADMIN_BODY_BYTES = 4 * 1024 * 1024
BODY_BYTES = 64 * 1024
log = structlog.get_logger("ticketing.api")


def body_limit(path: str) -> int:
    if path.endswith("/webhook"):
        return WEBHOOK_BODY_BYTES
    if path.startswith("/api/v1/admin/"):
        return ADMIN_BODY_BYTES
    return BODY_BYTES


def too_large(limit: int) -> StarletteHTTPException:
    return StarletteHTTPException(413, f"request body too large: the limit is {limit} bytes")


def limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that fails with 413 as soon as the body grows past ``limit``, before the
    rest is read (the handler sees the error where it reads the body)."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise too_large(limit)
        return message

    return counted


class RequestContext:
    """Tags each request with an id (``X-Request-ID``, taken from the caller if sane), logs
    failures, and records latency by route template (bounded labels, never raw paths)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        limit = body_limit(scope["path"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            response = problem(413, PAYLOAD_TOO_LARGE, "Request body too large", f"the limit is {limit} bytes")
            await response(scope, receive, send)
            return
        if length is None:  # chunked: nothing declared, so count while it streams
            receive = limited(receive, limit)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.http_request_duration_seconds.labels(template, scope["method"], str(status)).observe(
                time.perf_counter() - started
            )
            if status >= 500:
                log.warning("request_failed", method=scope["method"], route=template, status=status)
            structlog.contextvars.unbind_contextvars("request_id")
