"""The reconciler repairs, from the database, what failed after a commit.

- a refund the provider cannot make stays REFUND_PENDING, is counted, listed by the check,
  never blocks the refunder, and is made by the reconciler once the provider is back;
- a paid order whose confirm message the broker lost is published again and confirmed;
- the seat map is healed when Redis missed a release (the expirer committed while Redis
  was unreachable).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.conftest import make_schedule
from tests.e2e.flows import Auth, admit, eventually, hold, order, seat_states, webhook
from tests.e2e.test_cli import run_cli
from tests.e2e.test_confirmation import buy, drain, hold_statuses, short_window
from tests.e2e.test_dead_letters import cli_env
from ticketing.bootstrap import Resources, open_resources
from ticketing.devtools.broker import free_port
from ticketing.domain.ids import SeatNo, UserId
from ticketing.workers.confirm_consumer import ConfirmConsumer
from ticketing.workers.hold_expirer import HoldExpirer
from ticketing.workers.outbox_relay import OutboxRelay
from ticketing.workers.reconciler import Reconciler

__all__ = ["cli_env"]  # a fixture, used by name below


class FlakyProvider:
    """A payment provider that refuses refunds until it is back (an outage, or none configured)."""

    def __init__(self) -> None:
        self.up = False
        self.refunded: list[str] = []

    async def refund(self, order_no: str, amount: Decimal) -> str:
        if not self.up:
            raise RuntimeError("no payment gateway is configured")
        self.refunded.append(order_no)
        return f"refund-{order_no}"


async def order_row(res: Resources, order_no: str) -> sa.Row[tuple[str, int, str | None]]:
    async with res.engine.connect() as conn:
        q = sa.text("SELECT status, retries, last_error FROM payment_order WHERE order_no = :o")
        return (await conn.execute(q, {"o": order_no})).one()


async def make_due(res: Resources, order_no: str) -> None:
    """Time passes: the order's check is due now."""
    async with res.engine.begin() as conn:
        q = sa.text("UPDATE payment_order SET check_at = UTC_TIMESTAMP(6) WHERE order_no = :o")
        await conn.execute(q, {"o": order_no})


async def lose_at_the_guard(client: httpx.AsyncClient, auth: Auth, res: Resources, schedule_id: int) -> tuple[str, str]:
    """A slow buyer's payment lands after the seat was sold to someone else: a refund is due."""
    passes = await admit(client, auth, res, schedule_id, ["slow"])
    slow_hold = (await hold(client, auth, schedule_id, "slow", passes["slow"], ["A-1"])).json()["hold_id"]
    slow_order = (await order(client, auth, "slow", slow_hold)).json()["order_no"]

    async def expired() -> bool:
        return await hold_statuses(client, auth, "slow", slow_hold) == {"EXPIRED"}

    await eventually(expired, timeout_s=10)
    fast_hold, _ = await buy(client, auth, res, schedule_id, "fast", ["A-1"])

    async def fast_confirmed() -> bool:
        return await hold_statuses(client, auth, "fast", fast_hold) == {"CONFIRMED"}

    await eventually(fast_confirmed, timeout_s=15)
    assert (await webhook(client, res, slow_order, "PAID")).status_code == 200
    return slow_hold, slow_order


async def test_a_refund_the_provider_cannot_make_stays_pending_and_is_made_once_the_provider_is_back(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources, workers: dict[str, object], cli_env: None
) -> None:
    provider = FlakyProvider()
    app_res.refunds = provider
    short_window(app_res)
    schedule = await make_schedule(app_res, hold_ttl_s=1)
    slow_hold, slow_order = await lose_at_the_guard(client, auth, app_res, schedule.id)
    metrics = app_res.metrics

    async def refund_failed() -> bool:
        return metrics.refunds_failed_total._value.get() >= 1

    await eventually(refund_failed, timeout_s=15)
    status, retries, last_error = await order_row(app_res, slow_order)
    assert (status, retries) == ("REFUND_PENDING", 1)
    assert last_error == "RuntimeError: no payment gateway is configured"
    assert metrics.consumer_messages_total.labels("refunder", "refund_failed")._value.get() == 1
    assert metrics.consumer_retries_total.labels("refunder")._value.get() == 0, "the refunder is not blocked"
    assert await hold_statuses(client, auth, "slow", slow_hold) == {"REFUND_PENDING"}

    report = json.loads(
        await asyncio.to_thread(run_cli, "check", "--schedule", str(schedule.id), "--json", "--grace-s", "300")
    )
    assert [(r["order_no"], r["retries"]) for r in report["pending_refunds"]] == [(slow_order, 1)]

    provider.up = True
    await make_due(app_res, slow_order)

    async def refunded() -> bool:
        return await hold_statuses(client, auth, "slow", slow_hold) == {"REFUNDED"}

    await eventually(refunded, timeout_s=15)
    assert (await order_row(app_res, slow_order))[0] == "REFUNDED"
    assert provider.refunded == [slow_order]
    assert metrics.reconciler_repairs_total.labels("refund_completed")._value.get() == 1


async def test_a_paid_order_whose_confirm_message_was_lost_is_published_again_and_confirmed_once(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    hold_id, order_no = await buy(client, auth, app_res, schedule.id, "buyer", ["A-1"])
    async with app_res.engine.begin() as conn:  # relayed, then the broker restarted empty
        await conn.execute(sa.text("UPDATE outbox_event SET status = 'SENT' WHERE status = 'PENDING'"))
    reconciler = Reconciler(app_res)
    republished = app_res.metrics.reconciler_repairs_total.labels("confirmation_republished")
    await reconciler.tick()
    assert republished._value.get() == 0, "not due yet: the confirmation may still be on its way"
    await make_due(app_res, order_no)
    await reconciler.tick()
    assert republished._value.get() == 1
    await reconciler.tick()
    assert republished._value.get() == 1, "leased: another round (or copy) does not publish it again"
    assert await OutboxRelay(app_res).tick() == 1
    consumer = ConfirmConsumer(app_res)
    try:
        await drain(consumer)
    finally:
        await consumer.close()
    assert await hold_statuses(client, auth, "buyer", hold_id) == {"CONFIRMED"}
    status, retries, _ = await order_row(app_res, order_no)
    assert (status, retries) == ("PAID", 1)
    await make_due(app_res, order_no)  # even if its check came due again, a confirmed order is left alone
    await reconciler.tick()
    assert republished._value.get() == 1


async def test_a_release_redis_missed_after_the_expirer_committed_is_healed(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, hold_ttl_s=1)
    passes = await admit(client, auth, app_res, schedule.id, ["buyer"])
    hold_id = (await hold(client, auth, schedule.id, "buyer", passes["buyer"], ["A-1", "A-2"])).json()["hold_id"]
    await asyncio.sleep(1.2)
    unreachable = app_res.settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    async with open_resources(unreachable) as cut_off:
        expirer = HoldExpirer(dataclasses.replace(app_res, seat_locks=cut_off.seat_locks))
        with pytest.raises(RedisConnectionError):
            await expirer.tick()
    assert await hold_statuses(client, auth, "buyer", hold_id) == {"EXPIRED"}
    states = await seat_states(client, schedule.id)
    assert (states["A-1"], states["A-2"]) == ("HELD", "HELD"), "Redis never heard of the expiry"
    await Reconciler(app_res).tick()
    states = await seat_states(client, schedule.id)
    assert (states["A-1"], states["A-2"]) == ("AVAILABLE", "AVAILABLE")
    # (The count also covers other tests' schedules: they share this database, not this Redis prefix.)
    assert app_res.metrics.reconciler_repairs_total.labels("seats_healed")._value.get() >= 2


async def test_a_lock_left_by_an_api_process_that_died_before_its_insert_is_dropped(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, hold_ttl_s=600)
    await admit(client, auth, app_res, schedule.id, ["buyer"])
    # The hold script ran (lock taken), then the process died before the reservation INSERT.
    await app_res.seat_locks.acquire(schedule.id, UserId("buyer"), "h_orphan", [SeatNo("A-1")], 600_000, 4)
    assert (await seat_states(client, schedule.id))["A-1"] == "HELD"
    await Reconciler(app_res).tick()
    assert (await seat_states(client, schedule.id))["A-1"] == "HELD", "young: its insert may still be on its way"
    app_res.settings = app_res.settings.model_copy(update={"reconciler_orphan_after_s": 0.001})
    await Reconciler(app_res).tick()
    assert (await seat_states(client, schedule.id))["A-1"] == "AVAILABLE"
    assert await app_res.redis.get(app_res.keys.seat_lock(schedule.id, "A-1")) is None
    assert app_res.metrics.reconciler_repairs_total.labels("orphan_locks_dropped")._value.get() >= 1
