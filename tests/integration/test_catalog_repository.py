"""The SQL catalog repository against a real database (migrated with Alembic)."""

from datetime import timedelta

from tests.conftest import make_schedule
from ticketing.bootstrap import Resources
from ticketing.domain.ids import EventId, ScheduleId


async def test_event_round_trip(res: Resources) -> None:
    event = await res.catalog.add_event("Gala", "black tie", res.clock.now())
    loaded = await res.catalog.get_event(event.id)
    assert loaded is not None
    assert (loaded.title, loaded.description) == ("Gala", "black tie")
    assert loaded.created_at.tzinfo is not None


async def test_unknown_ids_read_as_none(res: Resources) -> None:
    assert await res.catalog.get_event(EventId(10**15)) is None
    assert await res.catalog.get_schedule(ScheduleId(10**15)) is None


async def test_schedule_round_trip_keeps_times_policy_and_seat_order(res: Resources) -> None:
    schedule = await make_schedule(res, rows=3, cols=11)
    loaded = await res.catalog.get_schedule(schedule.id)
    assert loaded == schedule
    seats = await res.catalog.list_seats(schedule.id)
    assert len(seats) == 33
    assert [s.seat_no for s in seats[:12]] == [f"A-{i}" for i in range(1, 12)] + ["B-1"]


async def test_list_on_sale_includes_only_open_schedules(res: Resources) -> None:
    open_now = await make_schedule(res)
    later = await make_schedule(res, opens_in=timedelta(hours=1))
    on_sale = {s.id for s in await res.catalog.list_on_sale(res.clock.now())}
    assert open_now.id in on_sale
    assert later.id not in on_sale


async def test_schedules_are_listed_per_event(res: Resources) -> None:
    schedule = await make_schedule(res)
    assert [s.id for s in await res.catalog.list_schedules(schedule.event_id)] == [schedule.id]


async def test_concurrent_first_reads_of_a_schedule_share_one_load(res: Resources) -> None:
    import asyncio

    schedule = await make_schedule(res)
    fresh = type(res.catalog)(res.database)  # an empty cache, like a process that just started
    loads = 0
    original = fresh._load_schedule

    async def counting(schedule_id: ScheduleId) -> object:
        nonlocal loads
        loads += 1
        return await original(schedule_id)

    fresh._load_schedule = counting  # type: ignore[method-assign, assignment]
    results = await asyncio.gather(*(fresh.get_schedule(schedule.id) for _ in range(50)))
    assert loads == 1
    assert all(r == schedule for r in results)
