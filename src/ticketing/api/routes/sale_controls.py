"""The organiser's controls of a running sale, and its live numbers (admin only)."""

from __future__ import annotations

from fastapi import APIRouter

from ticketing.api.dependencies import Admin, Res, ScheduleIdPath
from ticketing.api.schemas import SaleDashboardOut, SeatCountsOut, SteerIn
from ticketing.domain.holds import SeatStatus
from ticketing.domain.ids import ScheduleId
from ticketing.services import sale_controls as use

router = APIRouter(prefix="/api/v1/admin/schedules/{schedule_id}", tags=["admin"])


def dashboard_out(d: use.SaleDashboard) -> SaleDashboardOut:
    s = d.schedule
    return SaleDashboardOut(
        schedule_id=s.id,
        paused=s.queue.paused,
        closed=d.closed,
        capacity=s.queue.capacity,
        admit_per_tick=s.queue.admit_per_tick,
        waiting=d.waiting,
        live_passes=d.live_passes,
        admitted=d.admitted,
        admission_per_s=d.admission_per_s,
        seats=SeatCountsOut(
            available=d.seats[SeatStatus.AVAILABLE], held=d.seats[SeatStatus.HELD], sold=d.seats[SeatStatus.SOLD]
        ),
        confirmed_seats=d.confirmed_seats,
        refunds=d.refunds,
        guard_conflicts=d.guard_conflicts,
        refunds_done=d.refunds_done,
    )


async def _dashboard(res: Res, schedule_id: int) -> SaleDashboardOut:
    found = await use.sale_dashboard(
        res.catalog,
        res.waiting_room,
        res.seat_map,
        res.seat_truth,
        res.clock,
        res.reservations,
        ScheduleId(schedule_id),
    )
    return dashboard_out(found)


@router.get("/dashboard", response_model=SaleDashboardOut)
async def sale_dashboard(schedule_id: ScheduleIdPath, res: Res, _: Admin) -> SaleDashboardOut:
    """The sale now: the line, the passes, the seats, confirmations and refunds."""
    return await _dashboard(res, schedule_id)


@router.patch("/queue", response_model=SaleDashboardOut)
async def steer_admission(schedule_id: ScheduleIdPath, body: SteerIn, res: Res, _: Admin) -> SaleDashboardOut:
    """Pause or resume admission, change capacity or people per tick: acts at the next tick."""
    await use.steer_admission(
        res.catalog,
        res.waiting_room,
        ScheduleId(schedule_id),
        capacity=body.capacity,
        admit_per_tick=body.admit_per_tick,
        paused=body.paused,
    )
    return await _dashboard(res, schedule_id)


@router.post("/close", response_model=SaleDashboardOut)
async def close_sale(schedule_id: ScheduleIdPath, res: Res, _: Admin) -> SaleDashboardOut:
    """Close the sale now: nobody more admitted, passes withdrawn; holds made may be paid."""
    await use.close_sale(res.catalog, res.waiting_room, res.clock, ScheduleId(schedule_id))
    return await _dashboard(res, schedule_id)
