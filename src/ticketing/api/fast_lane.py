"""The fast lane: the stampede routes served ahead of the whole middleware stack.

A sellout profile (docs/decisions/0005) found a fifth of the API's CPU in the layers every
request crosses before its route: Starlette's error middleware, FastAPI's telemetry and body
limit middlewares, the exception middleware, the exit-stack middleware and the router's
matching, which for a status poll cost about as much as the route itself. The hot routes
(``api/hot_routes.py``) need none of them: they read the raw request and answer with their
response model. So the app's middleware stack is wrapped in a lane that matches those few
routes first and runs them under the same ``RequestContext`` (request id, latency metric,
body limits) with the app's own problem handlers; everything else, a method the route does
not take included, goes on through the stack as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ticketing.api.middleware import RequestContext
from ticketing.observability.metrics import Metrics


class HotDispatch:
    """Runs one matched hot route; an exception becomes the answer the app's handler gives."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: Route = scope["route"]
        request = Request(scope, receive)
        try:
            response = await route.endpoint(request)
        except Exception as exc:
            response = await self._problem(request, exc)
        await response(scope, receive, send)

    async def _problem(self, request: Request, exc: Exception) -> Response:
        handlers = self.app.exception_handlers
        for cls in type(exc).__mro__:
            handler = handlers.get(cls)
            if handler is not None:
                answer = handler(request, exc)
                return await answer if inspect.isawaitable(answer) else answer  # type: ignore[no-any-return]
        raise exc


class FastLane:
    """Outermost ASGI callable: hot routes straight to ``HotDispatch``, the rest to ``stack``."""

    def __init__(self, stack: ASGIApp, app: Starlette, routes: Sequence[Route], metrics: Metrics) -> None:
        self.stack = stack
        self.routes = tuple(routes)
        self.hot = RequestContext(HotDispatch(app), metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child)  # the path params
                    scope["route"] = route  # the metric's template
                    await self.hot(scope, receive, send)
                    return
        await self.stack(scope, receive, send)


def install(app: Starlette, routes: Sequence[Route], metrics: Metrics) -> None:
    """Wrap the app's middleware stack (built on its first request) in the fast lane."""
    build = app.build_middleware_stack

    def build_with_fast_lane() -> ASGIApp:
        return FastLane(build(), app, routes, metrics)

    app.build_middleware_stack = build_with_fast_lane  # type: ignore[method-assign]
