"""Tickets: what a signed ticket says, so a door can check it without asking the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ticketing.domain.ids import ScheduleId, SeatNo, UserId
from ticketing.domain.reservations import Reservation, ReservationStatus


@dataclass(frozen=True, slots=True)
class TicketClaims:
    """One confirmed seat: the reservation it is, where, and whose."""

    reservation_id: int
    schedule_id: ScheduleId
    seat_no: SeatNo
    user: UserId
    issued_at: datetime


def ticket_for(reservation: Reservation, now: datetime) -> TicketClaims | None:
    """A ticket exists for a confirmed reservation only."""
    if reservation.status is not ReservationStatus.CONFIRMED:
        return None
    return TicketClaims(reservation.id, reservation.schedule_id, reservation.seat_no, reservation.user_id, now)
