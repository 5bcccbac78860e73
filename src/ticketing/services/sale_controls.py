"""The organiser's hand on a running sale: pause or resume admission, change its pace,
close the sale, and the numbers of the sale as it runs."""

from __future__ import annotations

from dataclasses import dataclass

from ticketing.domain.catalog import Schedule
from ticketing.domain.errors import InvalidInput, SaleClosed, ScheduleNotFound
from ticketing.domain.holds import SeatStatus
from ticketing.domain.ids import ScheduleId
from ticketing.domain.reservations import ReservationStatus, StateCount
from ticketing.services.catalog import get_schedule, seat_map
from ticketing.services.ports import CatalogStore, Clock, ReservationStore, SeatStates, SeatTruthReader, WaitingRoom


@dataclass(frozen=True, slots=True)
class SaleDashboard:
    schedule: Schedule
    waiting: int
    live_passes: int
    admitted: int
    admission_per_s: float
    seats: dict[SeatStatus, int]
    confirmed_seats: int
    refunds: int  # seats whose payment was refunded: the guard found them sold to someone else
    guard_conflicts: int  # paid holds the confirm step refused (the guard, or a newer hold kept a seat)
    refunds_done: int  # of those, refunded by the provider (the rest are pending)

    @property
    def closed(self) -> bool:
        return self.schedule.sale_closed_at is not None


async def steer_admission(
    catalog: CatalogStore,
    room: WaitingRoom,
    schedule_id: ScheduleId,
    *,
    capacity: int | None = None,
    admit_per_tick: int | None = None,
    paused: bool | None = None,
) -> Schedule:
    """Change how the waiting room admits: capacity, people per tick, paused or not.

    Acts at the advancers' next tick: the schedule row is written first (the truth the
    advancers' registry is rebuilt from), then the registry entry every advancer reads on
    every tick; waiting pages are told at once (paused or running). Passes already given
    stay valid. Idempotent. Raises ScheduleNotFound, SaleClosed, InvalidInput (nothing to change).
    """
    if capacity is None and admit_per_tick is None and paused is None:
        raise InvalidInput("name at least one of capacity, admit_per_tick, paused")
    schedule = await catalog.steer_admission(schedule_id, capacity, admit_per_tick, paused)
    if schedule is None:
        raise ScheduleNotFound(f"schedule {schedule_id} does not exist")
    if schedule.sale_closed_at is not None:
        raise SaleClosed("the sale was closed")
    await room.register(schedule)
    await room.announce(schedule)
    return schedule


async def close_sale(catalog: CatalogStore, room: WaitingRoom, clock: Clock, schedule_id: ScheduleId) -> Schedule:
    """Close a sale before its show: nobody more is admitted, every pass is withdrawn (so no
    new hold), and entering or asking answers SALE_CLOSED. Holds already made may still be
    paid for and confirmed. Idempotent (the first closing time stays). Raises ScheduleNotFound."""
    schedule = await catalog.close_sale(schedule_id, clock.now())
    if schedule is None:
        raise ScheduleNotFound(f"schedule {schedule_id} does not exist")
    await room.unregister(schedule_id)
    await room.withdraw_passes(schedule_id)
    await room.announce(schedule)
    return schedule


async def sale_dashboard(
    catalog: CatalogStore,
    room: WaitingRoom,
    states: SeatStates,
    truth: SeatTruthReader,
    clock: Clock,
    reservations: ReservationStore,
    schedule_id: ScheduleId,
) -> SaleDashboard:
    """The numbers of one sale now. Reads only; safe to poll during a sale (admin only:
    it reads the whole seat map). Raises ScheduleNotFound."""
    schedule = await get_schedule(catalog, schedule_id, fresh=True)
    occupancy = await room.occupancy(schedule_id)
    line = await room.line(schedule_id)
    seats = dict.fromkeys(SeatStatus, 0)
    for view in await seat_map(catalog, states, truth, clock, schedule_id):
        seats[SeatStatus(view.status)] += 1
    by_status = await reservations.count_by_status(schedule_id)
    none = StateCount(0, 0)
    pending, refunded = (by_status.get(s, none) for s in (ReservationStatus.REFUND_PENDING, ReservationStatus.REFUNDED))
    return SaleDashboard(
        schedule=schedule,
        waiting=occupancy.waiting,
        live_passes=occupancy.live_passes,
        admitted=occupancy.admitted,
        admission_per_s=line.per_s,
        seats=seats,
        confirmed_seats=by_status.get(ReservationStatus.CONFIRMED, none).seats,
        refunds=pending.seats + refunded.seats,
        guard_conflicts=pending.holds + refunded.holds,
        refunds_done=refunded.holds,
    )
