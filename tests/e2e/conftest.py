"""The ASGI app with its lifespan entered, driven in-process over httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from tests.e2e.flows import serve
from ticketing.api.app import create_app
from ticketing.bootstrap import Resources
from ticketing.domain.identity import Role
from ticketing.settings import Settings


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
async def app_res(app: FastAPI) -> Resources:
    """The app's resources. Outbox rows left PENDING by earlier tests (which ran no relay)
    are settled first, so a relay in this test publishes only this test's messages, and
    earlier tests' orders are taken off the reconciler's watch list for the same reason."""
    resources: Resources = app.state.resources
    async with resources.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE outbox_event SET status = 'SENT' WHERE status = 'PENDING'"))
        await conn.execute(sa.text("UPDATE payment_order SET check_at = NULL WHERE check_at IS NOT NULL"))
    return resources


@pytest.fixture
def auth(app_res: Resources) -> Callable[..., dict[str, str]]:
    def headers(user: str = "alice", admin: bool = False) -> dict[str, str]:
        token = app_res.access_tokens.issue(user, Role.ADMIN if admin else Role.USER)
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
async def workers(app_res: Resources) -> AsyncIterator[dict[str, object]]:
    """Every background worker running against the app's resources, as in production."""
    import asyncio

    from ticketing.workers.confirm_consumer import ConfirmConsumer
    from ticketing.workers.hold_expirer import HoldExpirer
    from ticketing.workers.outbox_relay import OutboxRelay
    from ticketing.workers.queue_advancer import QueueAdvancer
    from ticketing.workers.reconciler import Reconciler
    from ticketing.workers.refunder import Refunder

    running = {
        "queue-advancer": QueueAdvancer(app_res),
        "hold-expirer": HoldExpirer(app_res),
        "outbox-relay": OutboxRelay(app_res),
        "confirm-consumer": ConfirmConsumer(app_res),
        "refunder": Refunder(app_res),
        "reconciler": Reconciler(app_res),
    }
    await running["confirm-consumer"].start()  # type: ignore[attr-defined]
    await running["refunder"].start()  # type: ignore[attr-defined]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop)) for w in running.values()]  # type: ignore[attr-defined]
    yield running
    stop.set()
    await asyncio.gather(*tasks)


@pytest.fixture
async def two_servers(settings: Settings) -> AsyncIterator[tuple[tuple[str, FastAPI], tuple[str, FastAPI]]]:
    """Two API servers on loopback ports over the same database, Redis and broker."""
    async with serve(settings) as a, serve(settings) as b:
        yield a, b
