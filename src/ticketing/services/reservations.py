"""Reading a buyer's own reservations."""

from __future__ import annotations

from ticketing.domain.ids import UserId
from ticketing.domain.reservations import Reservation
from ticketing.services.ports import ReservationStore


async def my_reservations(
    reservations: ReservationStore, user: UserId, limit: int, before_id: int | None
) -> list[Reservation]:
    """Newest first; page with ``before_id`` (the last id of the previous page)."""
    return await reservations.list_for_user(user, limit, before_id)
