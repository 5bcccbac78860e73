"""ASGI middleware: request ids in logs and headers, latency metrics, body size limit."""

from __future__ import annotations

import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketing.api.problems import PAYLOAD_TOO_LARGE, problem
from ticketing.observability.metrics import Metrics

MAX_BODY_BYTES = 4 * 1024 * 1024
log = structlog.get_logger("ticketing.api")


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
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            response = problem(413, PAYLOAD_TOO_LARGE, "Request body too large", f"limit is {MAX_BODY_BYTES} bytes")
            await response(scope, receive, send)
            return

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
