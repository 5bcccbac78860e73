"""Reservation rows: writing holds, releasing them, reading them back."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.adapters.sql import tables as t
from ticketing.adapters.sql.database import Database
from ticketing.adapters.sql.errors import is_duplicate_key
from ticketing.adapters.sql.times import from_db_time, to_db_time
from ticketing.adapters.sql.transient import RetryPolicy
from ticketing.domain.holds import Hold
from ticketing.domain.ids import ScheduleId, SeatNo, UserId
from ticketing.domain.reservations import HoldRecord, Reservation, ReservationStatus, StateCount, sources_of

r = t.reservation


def reservation_from_row(row: Any) -> Reservation:
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
    rows = [reservation_from_row(row) for row in await conn.execute(query)]
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


_INSERT_COLUMNS = "schedule_id, seat_no, user_id, hold_id, status, expires_at, pass_expires_at, created_at, updated_at"


@functools.cache
def _insert_sql(rows: int) -> str:
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * rows)
    return f"INSERT INTO reservation ({_INSERT_COLUMNS}) VALUES {values}"  # noqa: S608 (no user text in it)


class SqlReservations:
    def __init__(self, db: Database, retry: RetryPolicy) -> None:
        self._db = db
        self._retry = retry

    async def add_hold(self, hold: Hold, now: datetime) -> bool:
        """One HELD row per seat, in seat order, as one multi-row INSERT: atomic by itself,
        so it runs in autocommit on the bare driver (see DriverPool), one round trip. The
        SQL text is cached per row count; compiling it per hold cost a tenth of the CPU.
        False, writing nothing, when this hold id already has rows (a retried request)."""
        db_now = to_db_time(now)
        expires_at, pass_expires_at = to_db_time(hold.expires_at), to_db_time(hold.pass_expires_at)
        params: list[object] = []
        for seat in sorted(hold.seat_nos):
            params += [hold.schedule_id, seat, hold.user, hold.hold_id, ReservationStatus.HELD.value]
            params += [expires_at, pass_expires_at, db_now, db_now]
        try:
            await self._db.driver.execute(_insert_sql(len(hold.seat_nos)), params)
        except Exception as exc:
            if is_duplicate_key(exc):  # uq_reservation_hold_seat: only the hold id can repeat
                return False
            raise
        return True

    async def get_hold(self, hold_id: str) -> HoldRecord | None:
        async with self._db.auto.connect() as conn:
            return await load_hold(conn, hold_id)

    async def release_hold(self, hold_id: str, now: datetime) -> int:
        """HELD -> RELEASED; returns rows changed (0: it was no longer HELD)."""

        async def attempt() -> int:
            async with self._db.tx.begin() as conn:
                return await move_hold(conn, hold_id, ReservationStatus.RELEASED, now)

        return await self._retry.run(attempt)

    async def list_for_user(self, user: UserId, limit: int, before_id: int | None = None) -> list[Reservation]:
        query = r.select().where(r.c.user_id == user)
        if before_id is not None:
            query = query.where(r.c.id < before_id)
        async with self._db.auto.connect() as conn:
            return [reservation_from_row(row) for row in await conn.execute(query.order_by(r.c.id.desc()).limit(limit))]

    async def count_by_status(self, schedule_id: ScheduleId) -> dict[ReservationStatus, StateCount]:
        """Seats and holds of the schedule in each state (the organiser's dashboard), one query."""
        query = (
            sa.select(r.c.status, sa.func.count(), sa.func.count(sa.distinct(r.c.hold_id)))
            .where(r.c.schedule_id == schedule_id)
            .group_by(r.c.status)
        )
        async with self._db.auto.connect() as conn:
            return {
                ReservationStatus(status): StateCount(int(seats), int(holds))
                for status, seats, holds in await conn.execute(query)
            }

    async def get_reservation(self, reservation_id: int) -> Reservation | None:
        async with self._db.auto.connect() as conn:
            row = (await conn.execute(r.select().where(r.c.id == reservation_id))).first()
        return reservation_from_row(row) if row else None
