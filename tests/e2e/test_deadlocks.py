"""Transactions that lose a deadlock or a lock wait are retried, never answered with a 500.

The deadlock is made for real in MariaDB: a competing transaction locks the hold's
reservation rows, waits until the webhook's transaction holds the order row and wants
those rows, then asks for the order row itself. InnoDB rolls back the lighter of the two
(the webhook, since the competitor has written more rows), which is the case the bench
saw on the outbox INSERT under load.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from tests.conftest import make_schedule
from tests.e2e.flows import Auth, admit, hold, order, webhook
from ticketing.api.app import create_app
from ticketing.bootstrap import Resources
from ticketing.settings import Settings


async def ready_order(client: httpx.AsyncClient, auth: Auth, res: Resources, user: str) -> tuple[int, str, str]:
    schedule = await make_schedule(res)
    passes = await admit(client, auth, res, schedule.id, [user])
    hold_id = (await hold(client, auth, schedule.id, user, passes[user], ["A-1"])).json()["hold_id"]
    order_no = (await order(client, auth, user, hold_id)).json()["order_no"]
    return schedule.id, hold_id, order_no


@pytest.fixture
async def competitor(settings: Settings) -> AsyncIterator[AsyncConnection]:
    engine = create_async_engine(settings.database_url, pool_size=1)
    async with engine.connect() as conn:
        yield conn
    await engine.dispose()


async def order_status(res: Resources, order_no: str) -> str:
    async with res.engine.connect() as conn:
        q = sa.text("SELECT status FROM payment_order WHERE order_no = :o")
        return str((await conn.execute(q, {"o": order_no})).scalar_one())


async def test_paid_webhook_that_loses_a_deadlock_is_retried_and_answers_200(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources, competitor: AsyncConnection
) -> None:
    _, hold_id, order_no = await ready_order(client, auth, app_res, "deadlocked")
    tx = await competitor.begin()
    # Weight: InnoDB rolls back the transaction that changed fewer rows.
    for i in range(50):
        await competitor.execute(
            sa.text("INSERT INTO event (title, description, created_at) VALUES (:t, '', UTC_TIMESTAMP(6))"),
            {"t": f"ballast {i}"},
        )
    await competitor.execute(sa.text("SELECT id FROM reservation WHERE hold_id = :h FOR UPDATE"), {"h": hold_id})
    paid = asyncio.create_task(webhook(client, app_res, order_no, "PAID"))
    await asyncio.sleep(0.5)  # the webhook now holds the order row and waits for the reservations
    assert not paid.done()
    await competitor.execute(
        sa.text("SELECT status FROM payment_order WHERE order_no = :o FOR UPDATE"), {"o": order_no}
    )
    await asyncio.sleep(0.2)
    await tx.rollback()
    answer = await asyncio.wait_for(paid, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "PAID"
    assert await order_status(app_res, order_no) == "PAID"
    assert app_res.metrics.db_transaction_retries_total.labels("deadlock")._value.get() >= 1


async def test_paid_webhook_that_times_out_waiting_for_a_lock_is_retried_and_answers_200(
    settings: Settings, auth: Auth, competitor: AsyncConnection
) -> None:
    app = create_app(settings.model_copy(update={"database_lock_wait_timeout_s": 1}))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        res: Resources = app.state.resources
        _, hold_id, order_no = await ready_order(client, auth, res, "waiter")
        tx = await competitor.begin()
        await competitor.execute(sa.text("SELECT id FROM reservation WHERE hold_id = :h FOR UPDATE"), {"h": hold_id})
        paid = asyncio.create_task(webhook(client, res, order_no, "PAID"))
        await asyncio.sleep(1.6)  # longer than the lock wait: the first try has timed out
        await tx.rollback()
        answer = await asyncio.wait_for(paid, timeout=30)
        assert answer.status_code == 200, answer.text
        assert await order_status(res, order_no) == "PAID"
        assert res.metrics.db_transaction_retries_total.labels("lock_wait_timeout")._value.get() >= 1
