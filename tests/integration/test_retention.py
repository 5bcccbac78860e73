"""The retention job against the real database and Redis: what it deletes, and what it keeps."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from tests.conftest import SkewedClock, make_schedule
from ticketing.adapters.sql import tables as t
from ticketing.adapters.sql.times import to_db_time
from ticketing.bootstrap import Resources
from ticketing.domain.catalog import Schedule
from ticketing.domain.holds import SeatStatus
from ticketing.domain.ids import ScheduleId, SeatNo, UserId
from ticketing.domain.invariants import CheckPolicy, Invariant
from ticketing.services import catalog
from ticketing.services.invariants import check_invariants
from ticketing.services.retention import RetentionPolicy, sweep

DAY = 86400


def policy(outbox_keep_s: int = DAY, processed_keep_s: int = DAY, live_state_keep_s: int = DAY) -> RetentionPolicy:
    return RetentionPolicy(outbox_keep_s, processed_keep_s, live_state_keep_s, batch=2)


async def add_outbox_row(res: Resources, status: str, sent_at: datetime | None, created_at: datetime) -> str:
    event_id = str(uuid.uuid4())
    row = {
        "event_id": event_id,
        "topic": "t",
        "msg_key": "k",
        "payload": "{}",
        "status": status,
        "attempts": 0,
        "available_at": to_db_time(created_at),
        "created_at": to_db_time(created_at),
        "sent_at": to_db_time(sent_at) if sent_at else None,
    }
    async with res.engine.begin() as conn:
        await conn.execute(t.outbox_event.insert().values(**row))
    return event_id


async def outbox_ids(res: Resources, event_ids: list[str]) -> set[str]:
    o = t.outbox_event
    async with res.engine.connect() as conn:
        rows = await conn.execute(sa.select(o.c.event_id).where(o.c.event_id.in_(event_ids)))
        return {r.event_id for r in rows}


async def test_published_outbox_rows_go_after_their_keep_time_and_unsent_ones_never(res: Resources) -> None:
    now = res.clock.now()
    old = now - timedelta(days=3)
    old_sent = [await add_outbox_row(res, "SENT", old, old) for _ in range(5)]  # more than one batch of 2
    recent = await add_outbox_row(res, "SENT", now - timedelta(hours=1), now - timedelta(hours=1))
    pending = await add_outbox_row(res, "PENDING", None, old)
    given_up = await add_outbox_row(res, "DEAD", None, old)

    done = await sweep(res.retention, res.live_state, res.waiting_room, res.clock, policy())

    assert done["outbox_rows"] >= 5  # other tests' old rows may share the database
    assert await outbox_ids(res, [*old_sent, recent, pending, given_up]) == {recent, pending, given_up}


async def test_processed_marks_go_after_their_keep_time(res: Resources) -> None:
    now = res.clock.now()
    p = t.processed_event
    marks = {"old": now - timedelta(days=8), "recent": now - timedelta(minutes=5)}
    consumer = f"retention-test-{uuid.uuid4().hex[:8]}"
    async with res.engine.begin() as conn:
        for name, at in marks.items():
            await conn.execute(p.insert().values(consumer=consumer, event_id=name, processed_at=to_db_time(at)))

    await sweep(res.retention, res.live_state, res.waiting_room, res.clock, policy(processed_keep_s=7 * DAY))

    async with res.engine.connect() as conn:
        left = await conn.execute(sa.select(p.c.event_id).where(p.c.consumer == consumer))
        assert {r.event_id for r in left} == {"recent"}


async def live_keys(res: Resources, schedule: Schedule) -> set[bytes]:
    tag = f"{{{schedule.id}}}".encode()
    return {key async for key in res.redis.scan_iter(match=res.keys.pattern()) if tag in key}


async def lasting_keys(res: Resources, schedule: Schedule) -> set[bytes]:
    """The schedule's keys that would outlive this test on their own (a rate-limit key of a
    second ago expires by itself, whatever retention does)."""
    keys = await live_keys(res, schedule)
    return {key for key in keys if (ttl := await res.redis.pttl(key)) == -1 or ttl > 60_000}


async def busy_sale(res: Resources) -> Schedule:
    """A schedule with people in line, passes, a sold seat and per-user holds in Redis."""
    schedule = await make_schedule(res, capacity=2, admit_per_tick=2)
    for i in range(4):
        await res.waiting_room.enter(schedule, UserId(f"u{i}"))
    await res.waiting_room.advance(schedule.id, schedule.queue)
    await res.seat_locks.mark_sold(schedule.id, [SeatNo("A-1")])
    await res.redis.zadd(res.keys.user_holds(schedule.id, "u0"), {"1|h1": float("inf")})
    return schedule


async def test_the_redis_state_of_a_finished_show_is_released_once(res: Resources) -> None:
    finished, running = await busy_sale(res), await busy_sale(res)
    assert len(await live_keys(res, finished)) >= 10
    before = await lasting_keys(res, running)
    # Two days on, the first show started more than a day ago; the second is moved a month on.
    later = SkewedClock(timedelta(days=1, hours=1) + (finished.starts_at - res.clock.now()))
    async with res.engine.begin() as conn:
        s = t.schedule
        far = to_db_time(running.starts_at + timedelta(days=30))
        await conn.execute(s.update().where(s.c.id == running.id).values(starts_at=far))

    # Earlier tests' schedules (same database) start earlier and go first, a bounded number per round.
    rounds = [await sweep(res.retention, res.live_state, res.waiting_room, later, policy()) for _ in range(100)]
    assert any(r["schedules_released"] for r in rounds)
    assert rounds[-1]["schedules_released"] == 0

    assert await live_keys(res, finished) == set()
    assert before <= await live_keys(res, running)  # the running show lost nothing
    assert str(finished.id) not in {e.schedule_id for e in await res.waiting_room.registered()}
    assert ScheduleId(finished.id) not in await res.retention.shows_started_before(later.now(), 1000)


async def test_once_the_show_started_the_seat_map_is_the_databases(res: Resources) -> None:
    schedule = await make_schedule(res, rows=1, cols=3)
    async with res.engine.begin() as conn:
        await conn.execute(
            t.confirmed_seat_guard.insert().values(
                schedule_id=schedule.id, seat_no="A-2", reservation_id=1, confirmed_at=to_db_time(res.clock.now())
            )
        )
    # Redis says otherwise (as a released state would: nothing at all).
    await res.redis.delete(res.keys.seat_state(schedule.id))
    after_start = SkewedClock(timedelta(days=2))

    views = await catalog.seat_map(res.catalog, res.seat_map, res.seat_truth, after_start, schedule.id)

    assert {v.seat.seat_no: v.status for v in views} == {
        "A-1": SeatStatus.AVAILABLE,
        "A-2": SeatStatus.SOLD,
        "A-3": SeatStatus.AVAILABLE,
    }
    before_start = await catalog.seat_map(res.catalog, res.seat_map, res.seat_truth, res.clock, schedule.id)
    assert {v.status for v in before_start} == {"AVAILABLE"}  # Redis is the live map until then


async def test_the_check_of_a_released_show_does_not_ask_redis_for_what_was_released(res: Resources) -> None:
    schedule = await make_schedule(res, rows=1, cols=2)
    confirmed_at = to_db_time(res.clock.now() - timedelta(minutes=5))
    async with res.engine.begin() as conn:
        await conn.execute(
            t.confirmed_seat_guard.insert().values(
                schedule_id=schedule.id, seat_no="A-1", reservation_id=1, confirmed_at=confirmed_at
            )
        )
    await res.live_state.release(schedule.id)
    await res.retention.mark_released(schedule.id, res.clock.now())

    report = await check_invariants(res.audit_records, res.audit_live, schedule.id, CheckPolicy())

    assert Invariant.SEAT_MAP_MATCHES not in {v.invariant for v in report.violations}
    assert report.checked["live_state_released"] == 1
