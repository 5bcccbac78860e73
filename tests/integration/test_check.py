"""`ticketing check` against the real database and Redis: a clean sale passes, each corruption is named."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import make_schedule
from ticketing.adapters.sql import tables as t
from ticketing.adapters.sql.times import to_db_time
from ticketing.bootstrap import Resources
from ticketing.cli import main
from ticketing.domain.catalog import Schedule
from ticketing.domain.holds import Hold
from ticketing.domain.ids import ScheduleId, UserId
from ticketing.domain.invariants import AuditReport, CheckPolicy, Invariant
from ticketing.domain.messages import CONFIRM_REQUESTED, ConfirmRequested
from ticketing.domain.payments import PaymentOrder, WebhookOutcome
from ticketing.domain.reservations import ConfirmOutcome
from ticketing.domain.waiting_room import Admitted
from ticketing.domain.webhooks import WebhookEvent, sign
from ticketing.services.confirmation import confirm_seats
from ticketing.services.holds import hold_seats
from ticketing.services.invariants import check_invariants
from ticketing.services.payments import create_payment, handle_webhook
from ticketing.settings import Settings

ALICE = UserId("alice")
POLICY = CheckPolicy(grace=timedelta(seconds=30))


@dataclass(frozen=True)
class Sale:
    schedule: Schedule
    hold: Hold
    order: PaymentOrder


async def admit(res: Resources, schedule: Schedule, *users: UserId) -> dict[UserId, str]:
    """Enter every user, run one admission tick, return each user's pass token."""
    for user in users:
        await res.waiting_room.enter(schedule, user)
    await res.waiting_room.advance(schedule.id, schedule.queue)
    tokens = {}
    for user in users:
        status = await res.waiting_room.status(schedule, user)
        assert isinstance(status, Admitted)
        tokens[user] = res.pass_tokens.issue(user, schedule.id, status.pass_expires_at)
    return tokens


async def hold(res: Resources, schedule: Schedule, user: UserId, token: str, *seats: str) -> Hold:
    return await hold_seats(
        res.catalog,
        res.catalog,
        res.pass_tokens,
        res.seat_locks,
        res.abandoned_holds,
        res.reservations,
        res.clock,
        schedule.id,
        user,
        list(seats),
        token,
    )


async def pay(res: Resources, hold: Hold) -> tuple[PaymentOrder, ConfirmRequested]:
    """A READY order for the hold, then the provider's signed PAID webhook.

    Returns the order and the confirm message its outbox row carries. The row is marked
    SENT here, as a relay would: these tests play the consumer themselves, and a relay of
    a later test on the same database must not pick the message up.
    """
    order, _ = await create_payment(
        res.reservations,
        res.payments,
        res.catalog,
        res.catalog,
        res.seat_locks,
        res.tx,
        res.clock,
        hold.hold_id,
        hold.user,
        f"key-{hold.hold_id}",
        res.settlement,
    )
    event = WebhookEvent(order.order_no, order.amount, WebhookOutcome.PAID, f"pg-{order.order_no}", int(time.time()))
    body = event.to_body()
    secret = res.settings.webhook_secret
    paid = await handle_webhook(
        res.tx,
        res.seat_locks,
        res.outbox_signal,
        res.clock,
        secret,
        order.order_no,
        body,
        sign(secret, body),
        res.settlement,
        res.settings.webhook_tolerance_s,
    )
    ob = t.outbox_event
    mine = sa.and_(ob.c.topic == CONFIRM_REQUESTED, ob.c.payload.like(f'%"{order.order_no}"%'))
    async with res.engine.begin() as conn:
        payload = (await conn.execute(sa.select(ob.c.payload).where(mine))).scalar_one()
        await conn.execute(ob.update().where(mine).values(status="SENT", sent_at=to_db_time(res.clock.now())))
    return paid, ConfirmRequested.from_dict(json.loads(payload))


async def confirm(res: Resources, message: ConfirmRequested) -> None:
    """What the confirm consumer does with the message."""
    result = await confirm_seats(res.tx, res.seat_locks, res.outbox_signal, res.clock, message, res.settlement)
    assert result.outcome is ConfirmOutcome.CONFIRMED


async def sold(res: Resources, capacity: int = 10) -> Sale:
    """A schedule where alice held, paid for and got A-1 and A-2 through the real flow."""
    schedule = await make_schedule(res, capacity=capacity)
    tokens = await admit(res, schedule, ALICE)
    held = await hold(res, schedule, ALICE, tokens[ALICE], "A-1", "A-2")
    order, message = await pay(res, held)
    await confirm(res, message)
    return Sale(schedule, held, order)


async def check(res: Resources, schedule_id: int) -> AuditReport:
    return await check_invariants(res.audit_records, res.audit_live, ScheduleId(schedule_id), POLICY)


def broken(report: AuditReport) -> set[Invariant]:
    return {v.invariant for v in report.violations}


async def execute(res: Resources, statement: Any) -> None:
    async with res.engine.begin() as conn:
        await conn.execute(statement)


def long_ago() -> datetime:
    """A database timestamp an hour old: far past any grace period."""
    return to_db_time(datetime.now(UTC) - timedelta(hours=1))


async def test_a_confirmed_sale_has_no_violations(res: Resources) -> None:
    sale = await sold(res)
    report = await check(res, sale.schedule.id)
    assert report.violations == ()
    assert report.checked["confirmed_reservations"] == report.checked["guard_rows"] == 2
    assert report.checked["paid_orders"] == 1
    assert report.checked["admissions"] == 1
    assert report.checked["queue_capacity"] == 10


async def test_a_second_confirmed_reservation_for_a_sold_seat_is_reported(res: Resources) -> None:
    sale = await sold(res)
    now = to_db_time(res.clock.now())
    await execute(
        res,
        t.reservation.insert().values(
            schedule_id=sale.schedule.id,
            seat_no="A-1",
            user_id="mallory",
            hold_id="h_forged",
            status="CONFIRMED",
            expires_at=now,
            pass_expires_at=now + timedelta(minutes=1),
            created_at=now,
            updated_at=now,
        ),
    )
    report = await check(res, sale.schedule.id)
    assert broken(report) == {Invariant.SEAT_CONFIRMED_ONCE}
    assert any("seat A-1 has 2 CONFIRMED reservations" in v.detail for v in report.violations)


async def test_a_deleted_guard_row_is_reported(res: Resources) -> None:
    sale = await sold(res)
    g = t.confirmed_seat_guard
    await execute(res, g.delete().where(g.c.schedule_id == sale.schedule.id, g.c.seat_no == "A-2"))
    report = await check(res, sale.schedule.id)
    assert broken(report) == {Invariant.SEAT_CONFIRMED_ONCE}
    assert "(seat A-2) has no guard row" in report.violations[0].detail


async def test_a_ticket_admitted_out_of_order_is_reported(res: Resources) -> None:
    schedule = await make_schedule(res)
    await admit(res, schedule, UserId("u1"), UserId("u2"), UserId("u3"))
    assert broken(await check(res, schedule.id)) == set()
    await res.redis.rpush(res.keys.admissions(schedule.id), 2)
    report = await check(res, schedule.id)
    assert [(v.invariant, v.detail) for v in report.violations] == [
        (Invariant.FIFO_ADMISSION, "admission #4 is ticket 2, after ticket 3")
    ]


async def test_more_live_passes_than_capacity_are_reported(res: Resources) -> None:
    schedule = await make_schedule(res, capacity=3)
    seconds, _ = await res.redis.time()
    live_until_ms = (seconds + 60) * 1000
    await res.redis.zadd(res.keys.passes(schedule.id), {f"ghost{i}": live_until_ms for i in range(3)})
    await res.redis.zadd(res.keys.passes(schedule.id), {"expired": seconds * 1000 - 1000})
    assert broken(await check(res, schedule.id)) == set()
    await res.redis.zadd(res.keys.passes(schedule.id), {"one-too-many": live_until_ms})
    report = await check(res, schedule.id)
    assert broken(report) == {Invariant.PASSES_WITHIN_CAPACITY}
    assert report.checked["live_passes"] == 4


async def test_a_paid_order_stuck_in_payment_pending_is_reported_once_past_the_grace(res: Resources) -> None:
    schedule = await make_schedule(res)
    tokens = await admit(res, schedule, ALICE)
    await pay(res, await hold(res, schedule, ALICE, tokens[ALICE], "B-1"))
    fresh = await check(res, schedule.id)
    assert broken(fresh) == set()
    assert fresh.checked["in_flight_orders"] == 1
    r = t.reservation
    await execute(res, r.update().where(r.c.schedule_id == schedule.id).values(updated_at=long_ago()))
    report = await check(res, schedule.id)
    assert broken(report) == {Invariant.PAID_ORDERS_SETTLED}
    assert "stuck" in report.violations[0].detail


async def test_an_order_for_another_users_hold_is_reported(res: Resources) -> None:
    sale = await sold(res)
    tokens = await admit(res, sale.schedule, UserId("bob"))
    bobs = await hold(res, sale.schedule, UserId("bob"), tokens[UserId("bob")], "B-1")
    now = to_db_time(res.clock.now())
    await execute(
        res,
        t.payment_order.insert().values(
            order_no="ord_forged",
            hold_id=bobs.hold_id,
            schedule_id=sale.schedule.id,
            user_id="mallory",
            amount=25,
            status="READY",
            idempotency_key="forged",
            created_at=now,
            updated_at=now,
        ),
    )
    report = await check(res, sale.schedule.id)
    assert [(v.invariant, v.detail) for v in report.violations] == [
        (Invariant.PAYER_OWNS_HOLD, f"READY order ord_forged of mallory is for hold {bobs.hold_id} of bob")
    ]


async def test_a_hold_written_after_its_pass_expired_is_reported(res: Resources) -> None:
    sale = await sold(res)
    r = t.reservation
    await execute(res, r.update().where(r.c.hold_id == sale.hold.hold_id).values(pass_expires_at=long_ago()))
    assert broken(await check(res, sale.schedule.id)) == {Invariant.HOLD_HAD_LIVE_PASS}


async def test_a_sold_seat_the_seat_map_forgot_is_reported_once_past_the_grace(res: Resources) -> None:
    sale = await sold(res)
    await res.redis.hset(res.keys.seat_state(sale.schedule.id), "A-1", "AVAILABLE")
    assert broken(await check(res, sale.schedule.id)) == set()  # just confirmed: the map may still catch up
    g = t.confirmed_seat_guard
    await execute(res, g.update().where(g.c.schedule_id == sale.schedule.id).values(confirmed_at=long_ago()))
    report = await check(res, sale.schedule.id)
    assert broken(report) == {Invariant.SEAT_MAP_MATCHES}
    assert "seat A-1" in report.violations[0].detail


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """`main` builds Settings from the environment: point it at this test's database and keys."""
    monkeypatch.setenv("TICKETING_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TICKETING_REDIS_KEY_PREFIX", settings.redis_key_prefix)
    monkeypatch.setenv("TICKETING_KAFKA_BOOTSTRAP_SERVERS", settings.kafka_bootstrap_servers)


async def run_cli(*args: str) -> int:
    # The CLI runs its own event loop (asyncio.run); a thread keeps it off the test's loop.
    return await asyncio.to_thread(main, list(args))


@pytest.mark.usefixtures("cli_env")
async def test_check_cli_exits_zero_with_a_json_report_for_a_clean_schedule(
    res: Resources, capsys: pytest.CaptureFixture[str]
) -> None:
    sale = await sold(res)
    assert await run_cli("check", "--schedule", str(sale.schedule.id), "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schedule_id"] == sale.schedule.id
    assert document["violations"] == []
    assert document["checked"]["guard_rows"] == 2


@pytest.mark.usefixtures("cli_env")
async def test_check_cli_exits_one_and_names_each_violation(res: Resources, capsys: pytest.CaptureFixture[str]) -> None:
    sale = await sold(res)
    await res.redis.rpush(res.keys.admissions(sale.schedule.id), 0)
    g = t.confirmed_seat_guard
    await execute(res, g.delete().where(g.c.schedule_id == sale.schedule.id, g.c.seat_no == "A-1"))

    assert await run_cli("check", "--schedule", str(sale.schedule.id), "--json") == 1
    document = json.loads(capsys.readouterr().out)
    assert {v["invariant"] for v in document["violations"]} == {"seat_confirmed_once", "fifo_admission"}

    assert await run_cli("check", "--schedule", str(sale.schedule.id)) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("[seat_confirmed_once] ")
    assert lines[-1].startswith(
        f"schedule {sale.schedule.id}: 2 violations (seat_confirmed_once: 1, fifo_admission: 1;"
    )


@pytest.mark.usefixtures("cli_env")
async def test_check_cli_prints_a_summary_line_for_a_clean_schedule(
    res: Resources, capsys: pytest.CaptureFixture[str]
) -> None:
    schedule = await make_schedule(res)
    assert await run_cli("check", "--schedule", str(schedule.id), "--grace-s", "5") == 0
    assert capsys.readouterr().out.startswith(f"schedule {schedule.id}: 0 violations (checked: reservations=0,")


@pytest.mark.usefixtures("cli_env")
async def test_check_cli_exits_two_for_an_unknown_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_cli("check", "--schedule", "987654321", "--json") == 2
    assert "987654321" in capsys.readouterr().err
