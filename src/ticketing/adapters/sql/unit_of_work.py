"""A unit of work: one transaction with the repositories a use case may touch inside it.

The services decide (record a payment, confirm or refund, expire); this module only
reads and writes rows. ``SqlTransactions.run`` retries the whole unit when MariaDB
rolls it back for a deadlock or a lock-wait timeout: InnoDB picks a victim whenever
two transactions wait on each other, however carefully locks are ordered (gap and
next-key locks included), and the victim's work is safe to run again because every
change here is guarded by the state it expects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.adapters.sql import outbox
from ticketing.adapters.sql import tables as t
from ticketing.adapters.sql.errors import is_duplicate_key
from ticketing.adapters.sql.guard import claim_seats
from ticketing.adapters.sql.payments import order_from_row
from ticketing.adapters.sql.processed import mark_processed
from ticketing.adapters.sql.reservations import group_holds, load_hold, move_hold, reservation_from_row
from ticketing.adapters.sql.times import to_db_time
from ticketing.adapters.sql.transient import RetryPolicy
from ticketing.domain.errors import WebhookMismatch
from ticketing.domain.ids import ScheduleId, SeatNo, UserId
from ticketing.domain.payments import DueOrder, OrderStatus, PaymentOrder, order_sources_of
from ticketing.domain.reservations import HoldRecord, ReservationStatus

T = TypeVar("T")

o = t.payment_order
r = t.reservation
g = t.confirmed_seat_guard

# The database's own clock: expiry is decided by one clock, whatever the hosts of the
# API and the workers believe the time is.
DB_NOW = sa.func.utc_timestamp(6)


def _from_now(seconds: float) -> Any:
    """``seconds`` after the database clock's now, as a SQL expression."""
    return sa.func.date_add(DB_NOW, sa.text(f"INTERVAL {int(seconds * 1_000_000)} MICROSECOND"))


class _Orders:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, order_no: str, *, for_update: bool = False) -> PaymentOrder | None:
        query = o.select().where(o.c.order_no == order_no)
        if for_update:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return order_from_row(row) if row else None

    async def move(self, order_no: str, target: OrderStatus, now: datetime, pg_tx_id: str | None = None) -> bool:
        values: dict[str, Any] = {"status": target.value, "updated_at": to_db_time(now)}
        if pg_tx_id is not None:
            values["pg_tx_id"] = pg_tx_id
        try:
            result = await self._conn.execute(
                o.update()
                .where(o.c.order_no == order_no, o.c.status.in_([s.value for s in order_sources_of(target)]))
                .values(**values)
            )
        except sa.exc.IntegrityError as exc:
            if is_duplicate_key(exc):
                raise WebhookMismatch(f"provider transaction {pg_tx_id} is already recorded for another order") from exc
            raise
        return bool(result.rowcount)

    async def schedule_check(self, order_no: str, in_s: float | None) -> None:
        check_at = None if in_s is None else _from_now(in_s)
        await self._conn.execute(o.update().where(o.c.order_no == order_no).values(check_at=check_at))

    async def note_retry(self, order_no: str, error: str | None, in_s: float) -> None:
        values: dict[str, Any] = {"retries": o.c.retries + 1, "check_at": _from_now(in_s)}
        if error is not None:
            values["last_error"] = error[:500]
        await self._conn.execute(o.update().where(o.c.order_no == order_no).values(**values))

    async def claim_due(self, limit: int, lease_s: float) -> list[DueOrder]:
        rows = (
            await self._conn.execute(
                o.select()
                .where(
                    o.c.check_at <= DB_NOW,
                    o.c.status.in_([OrderStatus.PAID.value, OrderStatus.REFUND_PENDING.value]),
                )
                .order_by(o.c.check_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if rows:
            await self._conn.execute(
                o.update().where(o.c.order_no.in_([row.order_no for row in rows])).values(check_at=_from_now(lease_s))
            )
        return [DueOrder(order_from_row(row), int(row.retries)) for row in rows]


class _Holds:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, hold_id: str, *, for_update: bool = False) -> HoldRecord | None:
        return await load_hold(self._conn, hold_id, for_update=for_update)

    async def move(self, hold_id: str, target: ReservationStatus, now: datetime) -> int:
        return await move_hold(self._conn, hold_id, target, now)

    async def lock_expired(self, limit: int) -> list[HoldRecord]:
        rows = await self._conn.execute(
            r.select()
            .where(r.c.status == ReservationStatus.HELD.value, r.c.expires_at <= DB_NOW)
            .order_by(r.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return group_holds([reservation_from_row(row) for row in rows])

    async def seats_counted_for_user(self, schedule_id: ScheduleId, user: UserId, excluding: str) -> int:
        rs = ReservationStatus
        ordered = sa.exists().where(o.c.hold_id == r.c.hold_id, o.c.status == OrderStatus.READY.value)
        counted = sa.or_(
            r.c.status.in_([rs.PAYMENT_PENDING.value, rs.CONFIRMED.value]),
            sa.and_(r.c.status == rs.HELD.value, r.c.expires_at > DB_NOW, ordered),
        )
        rows = await self._conn.execute(
            sa.select(r.c.id)
            .where(r.c.schedule_id == schedule_id, r.c.user_id == user, r.c.hold_id != excluding, counted)
            .with_for_update()
        )
        return len(rows.all())

    async def newer_live_holds(self, schedule_id: ScheduleId, seats: Sequence[tuple[SeatNo, int]]) -> list[SeatNo]:
        if not seats:
            return []
        rs = ReservationStatus
        newer = sa.or_(*(sa.and_(r.c.seat_no == seat, r.c.id > rid) for seat, rid in seats))
        live = sa.or_(
            r.c.status == rs.PAYMENT_PENDING.value, sa.and_(r.c.status == rs.HELD.value, r.c.expires_at > DB_NOW)
        )
        rows = await self._conn.execute(
            sa.select(r.c.seat_no).distinct().where(r.c.schedule_id == schedule_id, newer, live).order_by(r.c.seat_no)
        )
        return [SeatNo(seat) for seat in rows.scalars()]

    async def extend(self, hold_id: str, window_s: int, now: datetime) -> int:
        until = _from_now(window_s)
        result = await self._conn.execute(
            r.update()
            .where(r.c.hold_id == hold_id, r.c.status == ReservationStatus.HELD.value, r.c.expires_at > DB_NOW)
            .values(expires_at=sa.func.greatest(r.c.expires_at, until), updated_at=to_db_time(now))
        )
        return int(result.rowcount)


class _Guard:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def claim(self, schedule_id: ScheduleId, seats: Sequence[tuple[SeatNo, int]], now: datetime) -> bool:
        return await claim_seats(self._conn, schedule_id, seats, now)

    async def owned_by_others(self, schedule_id: ScheduleId, seats: Sequence[tuple[SeatNo, int]]) -> list[SeatNo]:
        mine = dict(seats)
        if not mine:
            return []
        rows = await self._conn.execute(
            sa.select(g.c.seat_no, g.c.reservation_id).where(g.c.schedule_id == schedule_id, g.c.seat_no.in_(mine))
        )
        return sorted(SeatNo(row.seat_no) for row in rows if mine.get(row.seat_no) != row.reservation_id)


class _Outbox:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def append(self, topic: str, key: str, payload: dict[str, Any], now: datetime) -> None:
        await outbox.append(self._conn, topic, key, payload, now)


class _Processed:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def mark(self, consumer: str, event_id: str, now: datetime) -> bool:
        return await mark_processed(self._conn, consumer, event_id, now)


class SqlUnitOfWork:
    def __init__(self, conn: AsyncConnection) -> None:
        self.orders = _Orders(conn)
        self.holds = _Holds(conn)
        self.guard = _Guard(conn)
        self.outbox = _Outbox(conn)
        self.processed = _Processed(conn)


class SqlTransactions:
    """Runs units of work on the transactional pool (READ COMMITTED, see database.py)."""

    def __init__(self, engine: AsyncEngine, retry: RetryPolicy) -> None:
        self._engine = engine
        self._retry = retry

    async def run(self, work: Callable[[SqlUnitOfWork], Awaitable[T]]) -> T:
        async def attempt() -> T:
            async with self._engine.begin() as conn:
                return await work(SqlUnitOfWork(conn))

        return await self._retry.run(attempt)
