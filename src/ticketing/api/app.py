"""The ASGI application: create_app() wires routes, problem handlers and the lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import anyio._backends._asyncio  # noqa: F401  (Starlette loads it lazily; not by a sale's first burst)
from fastapi import FastAPI

from ticketing.api import fast_lane
from ticketing.api.client_address import ClientAddresses
from ticketing.api.middleware import RequestContext
from ticketing.api.problems import PROBLEM_RESPONSES, install_problem_handlers
from ticketing.api.routes import (
    catalog,
    dev_login,
    dev_payments,
    health,
    holds,
    payments,
    queue,
    queue_stream,
    reservations,
    sale_controls,
    seat_stream,
    tickets,
)
from ticketing.api.seat_map_json import SeatMapJson
from ticketing.api.stream_slots import StreamSlots
from ticketing.api.web import pages
from ticketing.bootstrap import open_resources
from ticketing.observability.logging import configure_logging
from ticketing.observability.metrics import Metrics, serve_metrics
from ticketing.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_format, settings.log_level)
        async with AsyncExitStack() as stack:
            resources = await stack.enter_async_context(open_resources(settings, metrics))
            await resources.warm_up()
            if settings.api_metrics_port > 0:
                server = serve_metrics(metrics, settings.api_host, settings.api_metrics_port)
                stack.callback(server.server_close)
                stack.push_async_callback(asyncio.to_thread, server.shutdown)
            app.state.resources = resources
            yield

    app = FastAPI(
        title="Ticketing",
        version="1.0",
        summary="Fair waiting room, guarded seat holds and exactly-once confirmation.",
        lifespan=lifespan,
        # Metrics are Prometheus (observability/metrics.py); FastAPI's built-in OpenTelemetry
        # hooks would otherwise consult the global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.stream_slots = StreamSlots(settings.sse_max_per_process, settings.sse_max_per_client)
    app.state.client_addresses = ClientAddresses(settings.trusted_proxies)
    app.state.seat_map_json = SeatMapJson()
    install_problem_handlers(app)
    app.include_router(health.router, responses=PROBLEM_RESPONSES)
    if settings.api_metrics_port == 0:
        app.include_router(health.metrics_router)
    routers = [catalog, sale_controls, queue, queue_stream, seat_stream, holds, payments, reservations, tickets]
    routers += [dev_payments] if settings.fake_payments_enabled else []
    routers += [dev_login] if settings.dev_login_enabled else []
    for module in routers:
        app.include_router(module.router, responses=PROBLEM_RESPONSES)
    app.include_router(pages.router)
    if settings.fake_payments_enabled:
        app.include_router(pages.dev_router)
    app.mount("/static", pages.static_files(), name="static")
    hot = [*queue.hot.front, *holds.hot.front, *catalog.hot.front]  # see api/hot_routes.py
    app.router.routes[0:0] = hot  # a method they do not take is answered by the router (405)
    app.add_middleware(RequestContext, metrics=metrics)
    fast_lane.install(app, hot, metrics)
    return app


def app_from_env() -> FastAPI:
    """Factory for ASGI servers (``--factory``); settings come from the environment."""
    return create_app()
