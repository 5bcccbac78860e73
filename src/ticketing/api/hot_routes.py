"""The stampede endpoints (enter, status, hold, seat map): declared once, served fast, documented.

FastAPI's per-request route handling alone cost ~35 us here (a trivial endpoint served ~14.5k
req/s as a FastAPI route and ~26k as a plain Starlette route in the same app), and its
parameter solving and response-model serialisation about a fifth of a hold's CPU. So a hot
route is served by a plain Starlette route, matched ahead of the whole middleware stack
(``api/fast_lane.py``) and put in front of the router too (where only a method it does not
take arrives), whose endpoint reads the raw request itself (``api/requests.py``) and answers
with the route's response model (``api/responses.py``). The same declaration also registers
it with FastAPI's router, for the OpenAPI document only: requests never reach that one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ticketing.api.schemas import MAX_ID

Endpoint = Callable[[Request], Awaitable[Response]]


class HotRoutes:
    """The hot routes of one router: ``front`` goes ahead of the app's router."""

    def __init__(self, router: APIRouter) -> None:
        self._router = router
        self.front: list[Route] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        status_code: int = 200,
        responses: dict[int | str, dict[str, Any]],
        path_ids: tuple[str, ...] = (),
        headers: tuple[str, ...] = (),
        request_body: type[BaseModel] | None = None,
    ) -> Callable[[Endpoint], Endpoint]:
        def declare(endpoint: Endpoint) -> Endpoint:
            self._router.add_api_route(
                path,
                endpoint,
                methods=[method],
                status_code=status_code,
                responses=responses,
                openapi_extra=_openapi(path_ids, headers, request_body),
            )
            self.front.append(Route(self._router.prefix + path, endpoint, methods=[method], name=endpoint.__name__))
            return endpoint

        return declare


def _openapi(
    path_ids: tuple[str, ...], headers: tuple[str, ...], request_body: type[BaseModel] | None
) -> dict[str, Any]:
    """The OpenAPI pieces FastAPI cannot infer from an endpoint that reads the raw request."""
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
