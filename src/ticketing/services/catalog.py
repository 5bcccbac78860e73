"""Catalog use cases: create and read events, schedules and seat maps."""

from __future__ import annotations

from dataclasses import dataclass

from ticketing.domain.catalog import Event, NewSchedule, Schedule, SeatSpec
from ticketing.domain.errors import EventNotFound, ScheduleNotFound
from ticketing.domain.holds import SeatStatus
from ticketing.domain.ids import EventId, ScheduleId
from ticketing.services.ports import CatalogStore, Clock, SeatLocks, SeatStates, SeatTruthReader, WaitingRoom

AVAILABLE = "AVAILABLE"


@dataclass(frozen=True, slots=True)
class SeatView:
    seat: SeatSpec
    status: str


async def create_event(catalog: CatalogStore, clock: Clock, title: str, description: str) -> Event:
    """Create an event. Not idempotent: each call makes a new event."""
    return await catalog.add_event(title, description, clock.now())


async def get_event(catalog: CatalogStore, event_id: EventId) -> tuple[Event, list[Schedule]]:
    """The event and its schedules; raises EventNotFound."""
    event = await catalog.get_event(event_id)
    if event is None:
        raise EventNotFound(f"event {event_id} does not exist")
    return event, await catalog.list_schedules(event_id)


async def create_schedule(
    catalog: CatalogStore, room: WaitingRoom, locks: SeatLocks, clock: Clock, event_id: EventId, new: NewSchedule
) -> Schedule:
    """Create a schedule with its seats in one transaction and register its waiting room.

    Raises EventNotFound. The registry entry lets the queue advancers find it without a SCAN;
    the seat state is marked intact (nothing to rebuild: every seat is AVAILABLE).
    """
    if await catalog.get_event(event_id) is None:
        raise EventNotFound(f"event {event_id} does not exist")
    schedule = await catalog.add_schedule(event_id, new, clock.now())
    await locks.mark_intact(schedule.id, len(new.seats))
    await room.register(schedule)
    return schedule


async def get_schedule(catalog: CatalogStore, schedule_id: ScheduleId, fresh: bool = False) -> Schedule:
    """Raises ScheduleNotFound. ``fresh``: read now, not from a cache of the last seconds."""
    schedule = await catalog.get_schedule(schedule_id, fresh)
    if schedule is None:
        raise ScheduleNotFound(f"schedule {schedule_id} does not exist")
    return schedule


async def seat_map(
    catalog: CatalogStore, states: SeatStates, truth: SeatTruthReader, clock: Clock, schedule_id: ScheduleId
) -> list[SeatView]:
    """Every seat with its live status (AVAILABLE unless Redis says otherwise); raises ScheduleNotFound.
    Once the show has started the sale is over and its Redis state may be released
    (services/retention.py): the map is then the database's, SOLD or AVAILABLE."""
    schedule = await get_schedule(catalog, schedule_id)
    seats = await catalog.list_seats(schedule_id)
    if clock.now() >= schedule.starts_at:
        sold = await truth.sold_seats(schedule_id)
        return [SeatView(seat, SeatStatus.SOLD if seat.seat_no in sold else AVAILABLE) for seat in seats]
    live = await states.states(schedule_id)
    return [SeatView(seat, live.get(seat.seat_no, AVAILABLE)) for seat in seats]
