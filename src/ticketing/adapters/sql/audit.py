"""Read-only reads for the invariant check: one schedule's reservations, guard rows and orders in one snapshot."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.adapters.sql import tables as t
from ticketing.adapters.sql.times import from_db_time
from ticketing.domain.ids import ScheduleId, SeatNo, UserId
from ticketing.domain.invariants import GuardRow, OrderRow, ReservationRow, StoredRecords

r = t.reservation
g = t.confirmed_seat_guard
o = t.payment_order


def _reservation(row: Any) -> ReservationRow:
    return ReservationRow(
        id=int(row.id),
        schedule_id=ScheduleId(row.schedule_id),
        seat_no=SeatNo(row.seat_no),
        user_id=UserId(row.user_id),
        hold_id=row.hold_id,
        status=row.status,
        pass_expires_at=from_db_time(row.pass_expires_at),
        created_at=from_db_time(row.created_at),
        updated_at=from_db_time(row.updated_at),
    )


def _guard(row: Any) -> GuardRow:
    return GuardRow(
        schedule_id=ScheduleId(row.schedule_id),
        seat_no=SeatNo(row.seat_no),
        reservation_id=int(row.reservation_id),
        confirmed_at=from_db_time(row.confirmed_at),
    )


def _order(row: Any) -> OrderRow:
    return OrderRow(
        order_no=row.order_no,
        hold_id=row.hold_id,
        schedule_id=ScheduleId(row.schedule_id),
        user_id=UserId(row.user_id),
        status=row.status,
        updated_at=from_db_time(row.updated_at),
        retries=int(row.retries),
        last_error=row.last_error,
    )


class SqlAudit:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def records(self, schedule_id: ScheduleId) -> StoredRecords | None:
        """The schedule's rows, plus rows elsewhere that its guard rows and orders point at.

        Every SELECT runs in one REPEATABLE READ transaction, so InnoDB answers them all
        from one snapshot: a confirmation committing mid-check is seen whole or not at all
        (separate reads could see its guard row but not yet its CONFIRMED reservation).
        Each branch of the UNIONs is an indexed lookup; no row is locked.
        """
        s = schedule_id
        own_holds = sa.select(r.c.hold_id).where(r.c.schedule_id == s)
        orders_query = sa.union(
            o.select().where(o.c.schedule_id == s),
            o.select().where(o.c.hold_id.in_(own_holds)),
        )
        reservations_query = sa.union(
            r.select().where(r.c.schedule_id == s),
            r.select().where(r.c.hold_id.in_(sa.select(o.c.hold_id).where(o.c.schedule_id == s))),
            r.select().where(r.c.id.in_(sa.select(g.c.reservation_id).where(g.c.schedule_id == s))),
        )
        async with self._engine.connect() as pooled:
            conn = await pooled.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                schedule = (
                    await conn.execute(
                        sa.select(t.schedule.c.queue_capacity, t.schedule.c.live_state_released_at).where(
                            t.schedule.c.id == s
                        )
                    )
                ).one_or_none()
                if schedule is None:
                    return None
                reservations = [_reservation(row) for row in await conn.execute(reservations_query)]
                guards = [_guard(row) for row in await conn.execute(g.select().where(g.c.schedule_id == s))]
                orders = [_order(row) for row in await conn.execute(orders_query)]
        return StoredRecords(
            schedule_id=s,
            queue_capacity=int(schedule.queue_capacity),
            reservations=tuple(sorted(reservations, key=lambda x: x.id)),
            guards=tuple(sorted(guards, key=lambda x: x.seat_no)),
            orders=tuple(sorted(orders, key=lambda x: x.order_no)),
            live_state_released=schedule.live_state_released_at is not None,
        )
