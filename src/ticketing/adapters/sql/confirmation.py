"""The confirm consumer's and the refunder's transactions: tracking row, guard, state, outbox."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.adapters.sql import outbox
from ticketing.adapters.sql import tables as t
from ticketing.adapters.sql.guard import claim_seats
from ticketing.adapters.sql.processed import mark_processed
from ticketing.adapters.sql.reservations import load_hold, move_hold
from ticketing.adapters.sql.times import to_db_time
from ticketing.domain.ids import SeatNo
from ticketing.domain.messages import REFUND_REQUESTED, ConfirmRequested, RefundRequested
from ticketing.domain.payments import OrderStatus
from ticketing.domain.reservations import ConfirmOutcome, ConfirmResult, ReservationStatus

o = t.payment_order


class SqlConfirmation:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def confirm(
        self, consumer: str, message: ConfirmRequested, refund_event_id: str, now: datetime
    ) -> ConfirmResult:
        """In one transaction: the tracking row (a duplicate means already done), the guard rows
        for every PAYMENT_PENDING seat of the hold (all or none), then CONFIRMED -- or, when the
        guard refuses, REFUND_PENDING for the hold and its order plus a refund message."""
        async with self._engine.begin() as conn:
            if not await mark_processed(conn, consumer, message.event_id, now):
                return ConfirmResult(ConfirmOutcome.DUPLICATE, await load_hold(conn, message.hold_id))
            hold = await load_hold(conn, message.hold_id, for_update=True)
            pending = [r for r in hold.reservations if r.status is ReservationStatus.PAYMENT_PENDING] if hold else []
            if hold is None or not pending:
                return ConfirmResult(ConfirmOutcome.NOTHING_PENDING, hold)
            seats = [(r.seat_no, r.id) for r in pending]
            if await claim_seats(conn, hold.schedule_id, seats, now):
                await move_hold(conn, hold.hold_id, ReservationStatus.CONFIRMED, now)
                return ConfirmResult(ConfirmOutcome.CONFIRMED, await load_hold(conn, hold.hold_id))
            # The guard refused: another reservation owns at least one seat. Refund the hold.
            await move_hold(conn, hold.hold_id, ReservationStatus.REFUND_PENDING, now)
            await conn.execute(
                o.update()
                .where(o.c.order_no == message.order_no, o.c.status == OrderStatus.PAID.value)
                .values(status=OrderStatus.REFUND_PENDING.value, updated_at=to_db_time(now))
            )
            amount = (await conn.execute(o.select().where(o.c.order_no == message.order_no))).one().amount
            refund = RefundRequested(
                refund_event_id, message.order_no, hold.hold_id, hold.schedule_id, hold.user_id, str(amount)
            )
            await outbox.append(conn, REFUND_REQUESTED, str(hold.schedule_id), refund.to_dict(), now)
            g = t.confirmed_seat_guard
            taken = await conn.execute(
                sa.select(g.c.seat_no).where(
                    g.c.schedule_id == hold.schedule_id, g.c.seat_no.in_([s for s, _ in seats])
                )
            )
            sold = tuple(sorted(SeatNo(row.seat_no) for row in taken))
            return ConfirmResult(ConfirmOutcome.REFUND_REQUESTED, await load_hold(conn, hold.hold_id), sold)

    async def complete_refund(self, consumer: str, message: RefundRequested, now: datetime) -> bool:
        """The provider refunded: order and reservations REFUND_PENDING -> REFUNDED. Idempotent;
        returns False for a redelivered message."""
        async with self._engine.begin() as conn:
            if not await mark_processed(conn, consumer, message.event_id, now):
                return False
            await conn.execute(
                o.update()
                .where(o.c.order_no == message.order_no, o.c.status == OrderStatus.REFUND_PENDING.value)
                .values(status=OrderStatus.REFUNDED.value, updated_at=to_db_time(now))
            )
            await move_hold(conn, message.hold_id, ReservationStatus.REFUNDED, now)
        return True
