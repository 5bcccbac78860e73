"""Catalog: admins create events and schedules; anyone reads them and the seat map."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ticketing.api import rate_limits, requests
from ticketing.api.dependencies import Admin, EventIdPath, Res, ScheduleIdPath
from ticketing.api.hot_routes import HotRoutes
from ticketing.api.responses import cacheable
from ticketing.api.schemas import (
    EventDetailOut,
    EventIn,
    EventOut,
    QueuePolicyOut,
    ScheduleIn,
    ScheduleOut,
    SeatGridIn,
    SeatMapOut,
)
from ticketing.api.seat_map_json import SeatMapJson
from ticketing.domain.catalog import Event, NewSchedule, QueuePolicy, Schedule, SeatSpec, seat_grid
from ticketing.domain.ids import EventId, ScheduleId, SeatNo
from ticketing.domain.rate_limits import Action
from ticketing.services import catalog as use

router = APIRouter(prefix="/api/v1", tags=["catalog"])
hot = HotRoutes(router)  # the seat map: reloaded often during a sale


def event_out(e: Event) -> EventOut:
    return EventOut(id=e.id, title=e.title, description=e.description, created_at=e.created_at)


def schedule_out(s: Schedule) -> ScheduleOut:
    return ScheduleOut(
        id=s.id,
        event_id=s.event_id,
        starts_at=s.starts_at,
        sale_opens_at=s.sale_opens_at,
        hold_ttl_s=s.hold_ttl_s,
        max_seats_per_user=s.max_seats_per_user,
        queue=QueuePolicyOut(
            capacity=s.queue.capacity,
            pass_ttl_s=s.queue.pass_ttl_s,
            admit_per_tick=s.queue.admit_per_tick,
            paused=s.queue.paused,
        ),
        sale_closed_at=s.sale_closed_at,
    )


def new_schedule(body: ScheduleIn) -> NewSchedule:
    if isinstance(body.seats, SeatGridIn):
        seats = seat_grid(body.seats.rows, body.seats.cols, body.seats.price, body.seats.section)
    else:
        seats = tuple(SeatSpec(SeatNo(s.seat_no), s.price, s.section, s.row_label) for s in body.seats)
    return NewSchedule(
        starts_at=body.starts_at,
        sale_opens_at=body.sale_opens_at,
        hold_ttl_s=body.hold_ttl_s,
        max_seats_per_user=body.max_seats_per_user,
        queue=QueuePolicy(body.queue.capacity, body.queue.pass_ttl_s, body.queue.admit_per_tick),
        seats=seats,
    )


@router.post("/admin/events", status_code=201, response_model=EventOut)
async def create_event(body: EventIn, res: Res, _: Admin) -> EventOut:
    return event_out(await use.create_event(res.catalog, res.clock, body.title, body.description))


@router.post("/admin/events/{event_id}/schedules", status_code=201, response_model=ScheduleOut)
async def create_schedule(event_id: EventIdPath, body: ScheduleIn, res: Res, _: Admin) -> ScheduleOut:
    schedule = await use.create_schedule(
        res.catalog, res.waiting_room, res.seat_locks, res.clock, EventId(event_id), new_schedule(body)
    )
    return schedule_out(schedule)


@router.get("/events", response_model=list[EventOut])
async def list_events(
    res: Res,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[EventOut]:
    return [event_out(e) for e in await res.catalog.list_events(limit, offset)]


@router.get("/events/{event_id}", response_model=EventDetailOut)
async def get_event(event_id: EventIdPath, res: Res) -> EventDetailOut:
    event, schedules = await use.get_event(res.catalog, EventId(event_id))
    return EventDetailOut(**event_out(event).model_dump(), schedules=[schedule_out(s) for s in schedules])


@router.get("/schedules/{schedule_id}", response_model=ScheduleOut)
async def get_schedule(schedule_id: ScheduleIdPath, res: Res) -> ScheduleOut:
    return schedule_out(await use.get_schedule(res.catalog, ScheduleId(schedule_id)))


@hot.route("GET", "/schedules/{schedule_id}/seats", responses={200: {"model": SeatMapOut}}, path_ids=("schedule_id",))
async def get_seat_map(request: Request) -> Response:
    """Every seat with its live status. Buyers reload it often during a sale, so it is a
    hot route (see api/hot_routes.py) over a cached seat list and one Redis HGETALL, and a
    reload while nothing changed is a bodiless 304 (``ETag`` / ``If-None-Match``)."""
    res = requests.resources(request)
    schedule_id = requests.path_id(request, "schedule_id")
    user = requests.principal_if_any(request)
    await rate_limits.count(request, Action.SEAT_MAP, user.user_id if user else None)
    views = await use.seat_map(res.catalog, res.seat_map, res.seat_truth, res.clock, ScheduleId(schedule_id))
    rendered: SeatMapJson = request.app.state.seat_map_json  # SeatMapOut's bytes, seats rendered once
    return cacheable(request, rendered.body(schedule_id, views))
