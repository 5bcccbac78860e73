"""The advancers' registry of schedules on sale, and its self-healing from the database."""

from datetime import timedelta

from tests.conftest import make_schedule
from ticketing.bootstrap import Resources
from ticketing.domain.ids import UserId
from ticketing.services.waiting_room import advance_waiting_rooms, sync_registry


async def test_creating_a_schedule_registers_it(res: Resources) -> None:
    schedule = await make_schedule(res)
    entries = {e.schedule_id: e for e in await res.waiting_room.registered()}
    assert entries[schedule.id].policy == schedule.queue
    assert entries[schedule.id].sale_opens_at == schedule.sale_opens_at


async def test_sync_restores_a_lost_registry_from_the_database(res: Resources) -> None:
    schedule = await make_schedule(res)
    await res.redis.delete(res.keys.registry())
    assert await sync_registry(res.catalog, res.waiting_room, res.clock) >= 1
    assert schedule.id in {e.schedule_id for e in await res.waiting_room.registered()}


async def test_advancer_skips_schedules_whose_sale_has_not_opened(res: Resources) -> None:
    schedule = await make_schedule(res, opens_in=timedelta(hours=1))
    await res.waiting_room.enter(schedule, UserId("early"))
    await advance_waiting_rooms(res.waiting_room, res.clock)
    assert await res.waiting_room.live_pass_count(schedule.id) == 0


async def test_advancer_drops_schedules_whose_show_has_started(res: Resources) -> None:
    schedule = await make_schedule(res, opens_in=timedelta(hours=-2), starts_in=timedelta(seconds=1))
    import asyncio

    await asyncio.sleep(1.05)
    await advance_waiting_rooms(res.waiting_room, res.clock)
    assert schedule.id not in {e.schedule_id for e in await res.waiting_room.registered()}
