"""Every waiting-room Lua script against a real Redis."""

import asyncio

from tests.conftest import make_schedule, pace_passes
from ticketing.bootstrap import Resources
from ticketing.domain.ids import UserId
from ticketing.domain.waiting_room import Admitted, NotInQueue, Waiting


async def test_enter_gives_increasing_tickets_and_positions(res: Resources) -> None:
    schedule = await make_schedule(res)
    statuses = [await res.waiting_room.enter(schedule, UserId(f"u{i}")) for i in range(5)]
    assert all(isinstance(s, Waiting) for s in statuses)
    assert [s.ticket for s in statuses if isinstance(s, Waiting)] == [1, 2, 3, 4, 5]
    assert [s.position for s in statuses if isinstance(s, Waiting)] == [1, 2, 3, 4, 5]


async def test_entering_twice_keeps_the_same_ticket(res: Resources) -> None:
    schedule = await make_schedule(res)
    first = await res.waiting_room.enter(schedule, UserId("a"))
    await res.waiting_room.enter(schedule, UserId("b"))
    await pace_passes(res, schedule.id)
    again = await res.waiting_room.enter(schedule, UserId("a"))
    assert isinstance(first, Waiting)
    assert isinstance(again, Waiting)
    assert (first.ticket, first.ahead) == (again.ticket, again.ahead)
    assert await res.redis.get(res.keys.queue_seq(schedule.id)) == b"2"


async def test_status_of_a_stranger_is_not_in_queue(res: Resources) -> None:
    schedule = await make_schedule(res)
    assert await res.waiting_room.status(schedule, UserId("nobody")) == NotInQueue()


async def test_advance_admits_from_the_head_up_to_the_per_tick_limit(res: Resources) -> None:
    schedule = await make_schedule(res, capacity=10, admit_per_tick=3)
    for i in range(5):
        await res.waiting_room.enter(schedule, UserId(f"u{i}"))
    tick = await res.waiting_room.advance(schedule.id, schedule.queue)
    assert (tick.admitted, tick.waiting, tick.live_passes) == (3, 2, 3)
    for i in range(3):
        assert isinstance(await res.waiting_room.status(schedule, UserId(f"u{i}")), Admitted)
    await pace_passes(res, schedule.id)
    fourth = await res.waiting_room.status(schedule, UserId("u3"))
    assert isinstance(fourth, Waiting)
    assert fourth.position == 1


async def test_advance_never_exceeds_capacity(res: Resources) -> None:
    schedule = await make_schedule(res, capacity=4, admit_per_tick=100)
    for i in range(10):
        await res.waiting_room.enter(schedule, UserId(f"u{i}"))
    for _ in range(3):
        tick = await res.waiting_room.advance(schedule.id, schedule.queue)
        assert tick.live_passes <= 4
    assert await res.waiting_room.live_pass_count(schedule.id) == 4
    assert await res.waiting_room.waiting_count(schedule.id) == 6


async def test_expired_passes_are_dropped_and_their_slots_go_to_the_next_in_line(res: Resources) -> None:
    schedule = await make_schedule(res, capacity=1, pass_ttl_s=1, admit_per_tick=5)
    await res.waiting_room.enter(schedule, UserId("first"))
    await res.waiting_room.enter(schedule, UserId("second"))
    await res.waiting_room.advance(schedule.id, schedule.queue)
    assert isinstance(await res.waiting_room.status(schedule, UserId("first")), Admitted)
    await asyncio.sleep(1.05)
    tick = await res.waiting_room.advance(schedule.id, schedule.queue)
    assert (tick.expired, tick.admitted) == (1, 1)
    assert await res.waiting_room.status(schedule, UserId("first")) == NotInQueue()
    assert isinstance(await res.waiting_room.status(schedule, UserId("second")), Admitted)


async def test_leave_removes_a_waiter_and_a_pass_holder(res: Resources) -> None:
    schedule = await make_schedule(res, capacity=1)
    await res.waiting_room.enter(schedule, UserId("holder"))
    await res.waiting_room.advance(schedule.id, schedule.queue)
    await res.waiting_room.enter(schedule, UserId("waiter"))
    assert await res.waiting_room.leave(schedule.id, UserId("waiter"))
    assert await res.waiting_room.leave(schedule.id, UserId("holder"))
    assert not await res.waiting_room.leave(schedule.id, UserId("holder"))
    assert await res.waiting_room.live_pass_count(schedule.id) == 0
    assert await res.waiting_room.waiting_count(schedule.id) == 0


async def test_pass_alive_reports_expiry_only_for_live_passes(res: Resources) -> None:
    schedule = await make_schedule(res, capacity=5, pass_ttl_s=1)
    await res.waiting_room.enter(schedule, UserId("a"))
    assert await res.waiting_room.pass_expiry(schedule.id, UserId("a")) is None
    await res.waiting_room.advance(schedule.id, schedule.queue)
    expiry = await res.waiting_room.pass_expiry(schedule.id, UserId("a"))
    assert expiry is not None
    assert expiry > res.clock.now()
    await asyncio.sleep(1.05)
    assert await res.waiting_room.pass_expiry(schedule.id, UserId("a")) is None


async def test_reentering_after_the_pass_expired_queues_at_the_back(res: Resources) -> None:
    schedule = await make_schedule(res, capacity=1, pass_ttl_s=1)
    await res.waiting_room.enter(schedule, UserId("a"))
    await res.waiting_room.advance(schedule.id, schedule.queue)
    await res.waiting_room.enter(schedule, UserId("b"))
    await asyncio.sleep(1.05)
    again = await res.waiting_room.enter(schedule, UserId("a"))
    assert isinstance(again, Waiting)
    assert again.ticket == 3
    assert again.position == 2


async def test_admission_rate_is_measured_while_people_wait(res: Resources) -> None:
    schedule = await make_schedule(res, capacity=1000, admit_per_tick=2)
    for i in range(200):
        await res.waiting_room.enter(schedule, UserId(f"u{i}"))
    # Admit 2 per tick for a bit over 2 s of Redis time: about 20 ticks of 100 ms.
    for _ in range(22):
        await res.waiting_room.advance(schedule.id, schedule.queue)
        await asyncio.sleep(0.1)
    rate = float(await res.redis.hget(res.keys.queue_rate(schedule.id), "per_s") or 0)
    assert 5 < rate < 25, rate
    await pace_passes(res, schedule.id)
    status = await res.waiting_room.status(schedule, UserId("u199"))
    assert isinstance(status, Waiting)
    assert status.eta_s == -(-status.ahead // rate) or abs(status.eta_s - status.ahead / rate) <= 1
