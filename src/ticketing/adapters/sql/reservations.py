"""Reservation rows: writing holds, releasing and expiring them, reading them back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.adapters.sql import tables as t
from ticketing.adapters.sql.times import from_db_time, to_db_time
from ticketing.domain.holds import Hold
from ticketing.domain.ids import ScheduleId, SeatNo, UserId
from ticketing.domain.reservations import HoldRecord, Reservation, ReservationStatus, sources_of

r = t.reservation


def _reservation(row: Any) -> Reservation:
    return Reservation(
        id=row.id,
        schedule_id=ScheduleId(row.schedule_id),
        seat_no=SeatNo(row.seat_no),
        user_id=UserId(row.user_id),
        hold_id=row.hold_id,
        status=ReservationStatus(row.status),
        expires_at=from_db_time(row.expires_at),
    )


def group_holds(reservations: Sequence[Reservation]) -> list[HoldRecord]:
    by_hold: dict[str, list[Reservation]] = defaultdict(list)
    for res in reservations:
        by_hold[res.hold_id].append(res)
    return [
        HoldRecord(hold_id, rows[0].schedule_id, rows[0].user_id, tuple(sorted(rows, key=lambda x: x.seat_no)))
        for hold_id, rows in by_hold.items()
    ]


async def load_hold(conn: AsyncConnection, hold_id: str, for_update: bool = False) -> HoldRecord | None:
    query = r.select().where(r.c.hold_id == hold_id).order_by(r.c.seat_no)
    if for_update:
        query = query.with_for_update()
    rows = [_reservation(row) for row in await conn.execute(query)]
    holds = group_holds(rows)
    return holds[0] if holds else None


async def move_hold(conn: AsyncConnection, hold_id: str, target: ReservationStatus, now: datetime) -> int:
    """Guarded state change of every row of a hold; the row count says whether it happened."""
    result = await conn.execute(
        r.update()
        .where(r.c.hold_id == hold_id, r.c.status.in_([s.value for s in sources_of(target)]))
        .values(status=target.value, updated_at=to_db_time(now))
    )
    return int(result.rowcount)


class SqlReservations:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_hold(self, hold: Hold, now: datetime) -> None:
        """One HELD row per seat, inserted in seat order, in one transaction."""
        db_now = to_db_time(now)
        rows = [
            {
                "schedule_id": hold.schedule_id,
                "seat_no": seat,
                "user_id": hold.user,
                "hold_id": hold.hold_id,
                "status": ReservationStatus.HELD.value,
                "expires_at": to_db_time(hold.expires_at),
                "pass_expires_at": to_db_time(hold.pass_expires_at),
                "created_at": db_now,
                "updated_at": db_now,
            }
            for seat in sorted(hold.seat_nos)
        ]
        async with self._engine.begin() as conn:
            await conn.execute(r.insert(), rows)

    async def get_hold(self, hold_id: str) -> HoldRecord | None:
        async with self._engine.connect() as conn:
            return await load_hold(conn, hold_id)

    async def release_hold(self, hold_id: str, now: datetime) -> int:
        """HELD -> RELEASED; returns rows changed (0: it was no longer HELD)."""
        async with self._engine.begin() as conn:
            return await move_hold(conn, hold_id, ReservationStatus.RELEASED, now)

    async def expire_due(self, now: datetime, limit: int) -> list[HoldRecord]:
        """HELD rows past expires_at -> EXPIRED, at most ``limit`` rows, skipping rows another
        expirer (or a payment) has locked. Returns the expired rows grouped by hold."""
        db_now = to_db_time(now)
        async with self._engine.begin() as conn:
            rows = [
                _reservation(row)
                for row in await conn.execute(
                    r.select()
                    .where(r.c.status == ReservationStatus.HELD.value, r.c.expires_at <= db_now)
                    .order_by(r.c.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ]
            if rows:
                await conn.execute(
                    r.update()
                    .where(r.c.id.in_([x.id for x in rows]), r.c.status == ReservationStatus.HELD.value)
                    .values(status=ReservationStatus.EXPIRED.value, updated_at=db_now)
                )
        return group_holds(rows)

    async def list_for_user(self, user: UserId, limit: int, before_id: int | None = None) -> list[Reservation]:
        query = r.select().where(r.c.user_id == user)
        if before_id is not None:
            query = query.where(r.c.id < before_id)
        async with self._engine.connect() as conn:
            return [_reservation(row) for row in await conn.execute(query.order_by(r.c.id.desc()).limit(limit))]

    async def count_by_status(self, schedule_id: ScheduleId) -> dict[str, int]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(r.c.status, sa.func.count()).where(r.c.schedule_id == schedule_id).group_by(r.c.status)
            )
            return {status: int(n) for status, n in rows}
