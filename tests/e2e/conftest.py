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
from ticketing.workers.loop import Worker


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
async def workers(app_res: Resources) -> AsyncIterator[dict[str, Worker]]:
    """Every registered background worker running against the app's resources, as in
    production (built from the registry, so a new worker runs here too)."""
    import asyncio

    from ticketing.workers.consumer_loop import ConsumerWorker
    from ticketing.workers.runner import WORKERS

    running = {name: worker(app_res) for name, worker in WORKERS.items()}
    for worker in running.values():
        if isinstance(worker, ConsumerWorker):
            await worker.start()  # joined its group before the test goes on
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop)) for w in running.values()]
    yield running
    stop.set()
    await asyncio.gather(*tasks)


@pytest.fixture
async def two_servers(settings: Settings) -> AsyncIterator[tuple[tuple[str, FastAPI], tuple[str, FastAPI]]]:
    """Two API servers on loopback ports over the same database, Redis and broker."""
    async with serve(settings) as a, serve(settings) as b:
        yield a, b
