"""The database's view of a schedule's seats, read for the reconciler to heal Redis with."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.adapters.sql import tables as t
from ticketing.adapters.sql.times import from_db_time
from ticketing.domain.ids import ScheduleId, SeatNo, UserId
from ticketing.domain.reservations import ReservationStatus
from ticketing.domain.seat_state import LiveHold, SeatTruth, UserCount, hold_member

r = t.reservation
g = t.confirmed_seat_guard
RS = ReservationStatus


async def _sold(conn: AsyncConnection, schedule_id: ScheduleId) -> frozenset[SeatNo]:
    rows = await conn.execute(sa.select(g.c.seat_no).where(g.c.schedule_id == schedule_id))
    return frozenset(SeatNo(row.seat_no) for row in rows)


class SqlSeatTruth:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def sold_seats(self, schedule_id: ScheduleId) -> frozenset[SeatNo]:
        """The schedule's SOLD seats: its guard rows."""
        async with self._engine.connect() as conn:
            return await _sold(conn, schedule_id)

    async def seat_truth(self, schedule_id: ScheduleId, payment_window_s: int, with_counts: bool) -> SeatTruth:
        """SOLD seats (guard rows), holds that still own their seats -- HELD and not expired by
        the database clock (with the time they have left), or paid and awaiting confirmation
        (a payment window) -- and, ``with_counts``, every user's counted holds, confirmed
        ones for good (the CONFIRMED rows are read only then: a rebuild needs them)."""
        statuses = [RS.HELD.value, RS.PAYMENT_PENDING.value] + ([RS.CONFIRMED.value] if with_counts else [])
        async with self._engine.connect() as pooled:
            # One snapshot: a confirmation committing mid-read is seen whole or not at all.
            conn = await pooled.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                db_now = from_db_time((await conn.execute(sa.select(sa.func.utc_timestamp(6)))).scalar_one())
                sold = await _sold(conn, schedule_id)
                rows = (
                    await conn.execute(
                        sa.select(r.c.hold_id, r.c.user_id, r.c.seat_no, r.c.status, r.c.expires_at).where(
                            r.c.schedule_id == schedule_id,
                            r.c.status.in_(statuses),
                        )
                    )
                ).all()
        now_ms = int(db_now.timestamp() * 1000)
        seats: dict[str, list[SeatNo]] = defaultdict(list)
        meta: dict[str, tuple[UserId, RS, int]] = {}
        for row in rows:
            expires_ms = int(from_db_time(row.expires_at).timestamp() * 1000)
            status = RS(row.status)
            if status is RS.HELD and expires_ms <= now_ms:
                continue  # expired: the expirer's to release
            seats[row.hold_id].append(SeatNo(row.seat_no))
            ttl_ms = expires_ms - now_ms if status is RS.HELD else payment_window_s * 1000
            meta[row.hold_id] = (UserId(row.user_id), status, ttl_ms)
        live, counts = [], []
        for hold_id, hold_seats in seats.items():
            user, hold_status, ttl_ms = meta[hold_id]
            member = hold_member(hold_id, len(hold_seats))
            if hold_status is RS.CONFIRMED:
                counts.append(UserCount(user, member, None))
                continue
            live.append(LiveHold(hold_id, user, tuple(sorted(hold_seats)), ttl_ms))
            counts.append(UserCount(user, member, now_ms + ttl_ms))
        return SeatTruth(sold, tuple(live), tuple(counts))

    async def finished_holds(self, hold_ids: Sequence[str]) -> frozenset[str]:
        """Which of these holds have rows and none of them still owns its seat (every row
        expired, released or refunded, or HELD past its expiry by the database clock)."""
        if not hold_ids:
            return frozenset()
        owning = sa.or_(
            r.c.status.in_([RS.PAYMENT_PENDING.value, RS.CONFIRMED.value]),
            sa.and_(r.c.status == RS.HELD.value, r.c.expires_at > sa.func.utc_timestamp(6)),
        )
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(r.c.hold_id, sa.func.max(sa.case((owning, 1), else_=0)).label("owns"))
                .where(r.c.hold_id.in_(list(hold_ids)))
                .group_by(r.c.hold_id)
            )
            return frozenset(row.hold_id for row in rows if not row.owns)
