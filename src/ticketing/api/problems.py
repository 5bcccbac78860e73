"""RFC 9457 problem+json: the only error-kind -> HTTP-status table, and the renderers."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from ticketing.bootstrap import DEPENDENCY_ERRORS, dependency_down
from ticketing.domain import errors

MEDIA_TYPE = "application/problem+json"

# The only error-kind -> HTTP-status table: an error is answered by its kind (its base in
# domain/errors.py), so adding an error never needs a line here, and one without a kind is
# a bug answered 500, never a silent 400.
STATUS_BY_KIND: dict[type[errors.TicketingError], int] = {
    errors.BadRequest: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Unprocessable: 422,
    errors.TooManyRequests: 429,
    errors.Unavailable: 503,
}


def status_of(exc: errors.TicketingError) -> int | None:
    """The HTTP status of a domain error's kind; None for an error of no kind (a bug)."""
    for kind in type(exc).__mro__:
        if kind in STATUS_BY_KIND:
            return STATUS_BY_KIND[kind]
    return None


# Codes of conditions the framework detects before any use case runs.
NOT_FOUND = "NOT_FOUND"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
VALIDATION_FAILED = "VALIDATION_FAILED"
MALFORMED_JSON = "MALFORMED_JSON"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
INTERNAL_ERROR = "INTERNAL_ERROR"
DEPENDENCY_RETRY_AFTER_S = 2

log = structlog.get_logger("ticketing.api")


def problem(
    status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": f"urn:ticketing:problem:{code.lower()}", "title": title, "status": status, "detail": detail}
    body["code"] = code
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _from_domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.TicketingError)
    status = status_of(exc)
    if status is None:
        return _from_crash(request, exc)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, errors.NotAuthenticated) else {}
    if exc.retry_after_s is not None:
        headers["Retry-After"] = str(exc.retry_after_s)
    return problem(status, exc.code, exc.title, exc.detail, headers or None, **exc.extra)


def _from_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    found = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:300], "type": e.get("type", "")}
        for e in exc.errors()[:20]
    ]
    if any(e["type"] == "json_invalid" for e in found):
        return problem(400, MALFORMED_JSON, "The body is not valid JSON", "the request body could not be parsed")
    return problem(
        422, VALIDATION_FAILED, "The request is not valid", "one or more fields are missing or invalid", errors=found
    )


def _from_http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: NOT_FOUND, 405: METHOD_NOT_ALLOWED, 413: PAYLOAD_TOO_LARGE}
    code = codes.get(exc.status_code, f"HTTP_{exc.status_code}")
    detail = exc.detail if isinstance(exc.detail, str) else "request failed"
    return problem(exc.status_code, code, detail, detail, dict(exc.headers or {}))


def _from_unavailable(request: Request, exc: Exception) -> JSONResponse:
    if not dependency_down(exc):
        return _from_crash(request, exc)
    log.warning("dependency_unavailable", path=request.url.path, error=type(exc).__name__, detail=str(exc)[:200])
    return problem(
        503,
        errors.DependencyUnavailable.code,
        errors.DependencyUnavailable.title,
        "a backing service did not answer; try again shortly",
        {"Retry-After": str(DEPENDENCY_RETRY_AFTER_S)},
    )


def _from_crash(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled_error", path=request.url.path, exc_info=exc)
    return problem(500, INTERNAL_ERROR, "Internal server error", "the server failed to handle this request")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.TicketingError, _from_domain)
    for unavailable in DEPENDENCY_ERRORS:
        app.add_exception_handler(unavailable, _from_unavailable)
    app.add_exception_handler(RequestValidationError, _from_validation)
    app.add_exception_handler(StarletteHTTPException, _from_http)
    app.add_exception_handler(Exception, _from_crash)


# Every error is RFC 9457 problem+json: how the OpenAPI document describes them.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
}
PROBLEM_STATUSES = {
    400: "malformed request (bad JSON, a missing Idempotency-Key)",
    401: "no valid bearer token, or a bad webhook signature",
    403: "not allowed: another user's resource, the admin role, a pass",
    404: "no such resource or route",
    409: "the state forbids it: seat taken, sale closed, hold expired",
    413: "request body too large",
    422: "invalid input",
    429: "too many requests or streams; see Retry-After",
    503: "a dependency is unavailable or the seat map is rebuilding; see Retry-After",
}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": {MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}}}
    for status, text in PROBLEM_STATUSES.items()
}
