"""Demo data: an event whose sale is open now, so the whole flow can be tried at once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from ticketing.bootstrap import Resources
from ticketing.domain.catalog import NewSchedule, QueuePolicy, Schedule, seat_grid
from ticketing.services import catalog

DEMO_TITLE = "Demo: Midnight Orchestra"


async def seed_demo(res: Resources) -> Schedule:
    """Idempotent: reuses the demo schedule if one is still on sale, else creates event and schedule."""
    now = res.clock.now()
    for event in await res.catalog.list_events(limit=200, offset=0):
        if event.title == DEMO_TITLE:
            for schedule in await res.catalog.list_schedules(event.id):
                if schedule.sale_is_open(now):
                    await res.waiting_room.register(schedule)
                    return schedule
    event = await catalog.create_event(res.catalog, res.clock, DEMO_TITLE, "A demo show; the sale is open now.")
    new = NewSchedule(
        starts_at=now + timedelta(days=30),
        sale_opens_at=now - timedelta(minutes=1),
        hold_ttl_s=300,
        max_seats_per_user=4,
        queue=QueuePolicy(capacity=50, pass_ttl_s=300, admit_per_tick=10),
        seats=seat_grid(rows=10, cols=20, price=Decimal("50.00")),
    )
    return await catalog.create_schedule(res.catalog, res.waiting_room, res.seat_locks, res.clock, event.id, new)
