"""Tickets: a signed ticket for each confirmed seat, and the door's check of one."""

from __future__ import annotations

from ticketing.domain.errors import ReservationNotFound, TicketNotIssued
from ticketing.domain.ids import UserId
from ticketing.domain.reservations import Reservation
from ticketing.domain.tickets import TicketClaims, ticket_for
from ticketing.services.ports import Clock, ReservationStore, TicketSigning


async def my_ticket(
    reservations: ReservationStore, signing: TicketSigning, clock: Clock, user: UserId, reservation_id: int
) -> tuple[Reservation, str]:
    """The signed ticket of one of my confirmed reservations (signed anew on each call; every
    copy is as good as another). Raises ReservationNotFound (none of mine by that id),
    TicketNotIssued (not confirmed: held, paid and confirming, refunded...)."""
    reservation = await reservations.get_reservation(reservation_id)
    if reservation is None or reservation.user_id != user:
        raise ReservationNotFound()
    ticket = ticket_for(reservation, clock.now())
    if ticket is None:
        raise TicketNotIssued(f"the reservation is {reservation.status}")
    return reservation, signing.sign(ticket)


async def check_ticket(
    reservations: ReservationStore, signing: TicketSigning, token: str
) -> tuple[TicketClaims, Reservation | None]:
    """A door's check: the signature first (TicketInvalid), then the reservation as it is now,
    which may have been refunded since the ticket was issued. Changes nothing."""
    claims = signing.read(token)
    return claims, await reservations.get_reservation(claims.reservation_id)
