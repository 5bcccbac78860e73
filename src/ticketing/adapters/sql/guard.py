"""The confirmed-seat guard: a primary key on (schedule_id, seat_no) that no bug can talk past."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.adapters.sql import tables as t
from ticketing.adapters.sql.errors import is_duplicate_key
from ticketing.adapters.sql.times import to_db_time


async def claim_seats(conn: AsyncConnection, schedule_id: int, seats: Sequence[tuple[str, int]], now: datetime) -> bool:
    """Insert one guard row per (seat_no, reservation_id), all or none.

    Rows go in seat order so concurrent confirmations lock index entries in the same
    order. Returns False when any seat already has a guard row (someone else owns it);
    the savepoint undoes the partial insert and the caller's transaction goes on.
    """
    rows = [
        {"schedule_id": schedule_id, "seat_no": seat_no, "reservation_id": rid, "confirmed_at": to_db_time(now)}
        for seat_no, rid in sorted(seats)
    ]
    try:
        async with conn.begin_nested():
            await conn.execute(t.confirmed_seat_guard.insert(), rows)
    except IntegrityError as exc:
        if is_duplicate_key(exc):
            return False
        raise
    return True
