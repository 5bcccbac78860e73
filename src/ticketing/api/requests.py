"""Reading a hot route's raw request (see ``api/hot_routes.py``): the same checks, and the same
errors, as FastAPI's parameter solving gives the other routes."""

from __future__ import annotations

from typing import TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from ticketing.api.dependencies import authenticate
from ticketing.api.schemas import MAX_ID
from ticketing.bootstrap import Resources
from ticketing.domain.errors import TicketingError
from ticketing.domain.identity import Principal

M = TypeVar("M", bound=BaseModel)


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
