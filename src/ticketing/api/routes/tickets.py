"""Tickets: my signed ticket (and its QR code) per confirmed seat; the door's check of one."""

from __future__ import annotations

import io
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Path
from starlette.responses import PlainTextResponse, Response

from ticketing.api.dependencies import Admin, Res, User
from ticketing.api.schemas import MAX_ID, TicketCheckIn, TicketCheckOut, TicketOut
from ticketing.domain.reservations import ReservationStatus
from ticketing.services import tickets as use

router = APIRouter(prefix="/api/v1", tags=["tickets"])

ReservationIdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
SVG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/svg+xml": {}}, "description": "the ticket as a QR code"}
}


@router.get("/me/tickets/{reservation_id}", response_model=TicketOut)
async def my_ticket(reservation_id: ReservationIdPath, res: Res, user: User) -> TicketOut:
    """The signed ticket of my confirmed reservation (a compact EdDSA JWT)."""
    reservation, ticket = await use.my_ticket(res.reservations, res.tickets, res.clock, user.user_id, reservation_id)
    return TicketOut(
        reservation_id=reservation.id, schedule_id=reservation.schedule_id, seat_no=reservation.seat_no, ticket=ticket
    )


@router.get("/me/tickets/{reservation_id}/qr.svg", response_class=Response, responses=SVG)
async def my_ticket_qr(reservation_id: ReservationIdPath, res: Res, user: User) -> Response:
    """The same ticket as a QR code, for the door's scanner."""
    _, ticket = await use.my_ticket(res.reservations, res.tickets, res.clock, user.user_id, reservation_id)
    out = io.BytesIO()
    segno.make(ticket, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False)
    return Response(out.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"})


@router.post("/tickets/verify", response_model=TicketCheckOut)
async def verify_ticket(body: TicketCheckIn, res: Res, _: Admin) -> TicketCheckOut:
    """The door's check (organiser's staff, admin tokens): is the signature ours, and is the
    seat still confirmed for that buyer now? ``admit`` says whether to let them in."""
    claims, reservation = await use.check_ticket(res.reservations, res.tickets, body.ticket)
    status = reservation.status.value if reservation is not None else None
    return TicketCheckOut(
        reservation_id=claims.reservation_id,
        schedule_id=claims.schedule_id,
        seat_no=claims.seat_no,
        user_id=claims.user,
        issued_at=claims.issued_at,
        status=status,
        admit=reservation is not None
        and reservation.status is ReservationStatus.CONFIRMED
        and reservation.user_id == claims.user,
    )


@router.get("/tickets/public-key", response_class=PlainTextResponse)
async def ticket_public_key(res: Res) -> PlainTextResponse:
    """The PEM public key that verifies every ticket offline (`ticketing verify-ticket`)."""
    return PlainTextResponse(res.tickets.public_pem)
