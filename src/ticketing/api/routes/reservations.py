"""My reservations and their states."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ticketing.api.dependencies import Res, User
from ticketing.api.schemas import MAX_ID, ReservationOut
from ticketing.services.reservations import my_reservations

router = APIRouter(prefix="/api/v1/me", tags=["reservations"])


@router.get("/reservations", response_model=list[ReservationOut])
async def list_my_reservations(
    res: Res,
    user: User,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[ReservationOut]:
    """Newest first; page with ``before_id`` = the last reservation_id of the previous page."""
    rows = await my_reservations(res.reservations, user.user_id, limit, before_id)
    return [
        ReservationOut(
            reservation_id=r.id,
            schedule_id=r.schedule_id,
            seat_no=r.seat_no,
            hold_id=r.hold_id,
            status=r.status.value,
            expires_at=r.expires_at,
        )
        for r in rows
    ]
