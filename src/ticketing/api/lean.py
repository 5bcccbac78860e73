"""Request handling without FastAPI's parameter solver, for the hottest endpoints only.

A profile of a hold showed FastAPI's dependency and parameter solving plus response-model
serialisation at about a fifth of its CPU. Enter, status, hold and the seat map take the raw
Request and do the same checks by hand -- bearer token, path ids in range, headers within
bounds, the body validated by the same pydantic models -- and raise the same errors, so
clients see identical problem+json answers. Their OpenAPI entries are declared explicitly.

They are also served by plain Starlette routes put in front of the router (``front``):
FastAPI's per-request route handler alone cost ~35 us here (a trivial endpoint served
~14.5k req/s as a FastAPI route and ~26k as a Starlette route in the same app). Their
FastAPI routes stay registered for the OpenAPI document; requests never reach them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ticketing.api.dependencies import authenticate
from ticketing.api.schemas import MAX_ID
from ticketing.bootstrap import Resources
from ticketing.domain.errors import TicketingError
from ticketing.domain.identity import Principal

M = TypeVar("M", bound=BaseModel)
Endpoint = Callable[[Request], Awaitable[Response]]


def front(path: str, endpoint: Endpoint, method: str) -> Route:
    """A plain Starlette route for a lean endpoint, to be put in front of the router."""
    return Route(path, endpoint, methods=[method], name=f"lean:{endpoint.__name__}")


def resources(request: Request) -> Resources:
    res: Resources = request.app.state.resources
    return res


def principal(request: Request) -> Principal:
    return authenticate(request)


def principal_if_any(request: Request) -> Principal | None:
    """The caller of a public endpoint: None without a token (or with one that does not verify)."""
    if "authorization" not in request.headers:
        return None
    try:
        return authenticate(request)
    except TicketingError:
        return None


def _invalid(loc: tuple[str, ...], msg: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": msg, "type": kind}])


def path_id(request: Request, name: str) -> int:
    """A positive BIGINT id from the path, or a 422 like FastAPI's."""
    raw = request.path_params.get(name, "")
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19):
        raise _invalid(("path", name), "must be a positive integer", "int_parsing")
    value = int(raw)
    if not 1 <= value <= MAX_ID:
        raise _invalid(("path", name), f"must be between 1 and {MAX_ID}", "less_than_equal")
    return value


def header(request: Request, name: str, max_length: int) -> str | None:
    value = request.headers.get(name)
    if value is not None and len(value) > max_length:
        raise _invalid(("header", name), f"at most {max_length} characters", "string_too_long")
    return value


async def body(request: Request, model: type[M]) -> M:
    """The JSON body validated by ``model``; 400 for malformed JSON, 422 for invalid fields."""
    raw = await request.body()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def iso_utc(value: datetime) -> str:
    """An aware UTC timestamp as pydantic writes it for the other endpoints (``...Z``)."""
    return value.isoformat().replace("+00:00", "Z")


def respond(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")), status_code=status, media_type="application/json")


def respond_cacheable(request: Request, payload: dict[str, Any]) -> Response:
    """200 with a strong ``ETag`` of the body, or a bodiless 304 when the caller's
    ``If-None-Match`` already names it (the body is still built: it is the state's hash)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    known = request.headers.get("if-none-match", "")
    if etag in (tag.strip() for tag in known.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(body, status_code=200, media_type="application/json", headers=headers)


def openapi(
    path_ids: tuple[str, ...] = (), headers: tuple[str, ...] = (), request_body: type[BaseModel] | None = None
) -> dict[str, Any]:
    """OpenAPI pieces FastAPI cannot infer for a raw-request endpoint."""
    parameters: list[dict[str, Any]] = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
        for n in path_ids
    ]
    parameters += [{"name": h, "in": "header", "required": False, "schema": {"type": "string"}} for h in headers]
    extra: dict[str, Any] = {"parameters": parameters}
    if request_body is not None:
        extra["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": request_body.model_json_schema()}},
        }
    return extra
