"""Payment orders: idempotent creation, and the webhook's transactions (PAID with its outbox row)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.adapters.sql import outbox
from ticketing.adapters.sql import tables as t
from ticketing.adapters.sql.database import Database
from ticketing.adapters.sql.errors import is_duplicate_key
from ticketing.adapters.sql.reservations import load_hold, move_hold
from ticketing.adapters.sql.times import to_db_time
from ticketing.domain.errors import IdempotencyKeyReused
from ticketing.domain.ids import ScheduleId, UserId
from ticketing.domain.messages import CONFIRM_REQUESTED, ConfirmRequested
from ticketing.domain.payments import OrderStatus, PaymentOrder, new_order_no
from ticketing.domain.reservations import HoldRecord, ReservationStatus

o = t.payment_order


def _order(row: Any) -> PaymentOrder:
    return PaymentOrder(
        order_no=row.order_no,
        hold_id=row.hold_id,
        schedule_id=ScheduleId(row.schedule_id),
        user_id=UserId(row.user_id),
        amount=Decimal(row.amount),
        status=OrderStatus(row.status),
        pg_tx_id=row.pg_tx_id,
    )


async def _find(conn: AsyncConnection, *where: Any, for_update: bool = False) -> PaymentOrder | None:
    query = o.select().where(*where)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _order(row) if row else None


class SqlPayments:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_order(
        self, hold: HoldRecord, amount: Decimal, idempotency_key: str, now: datetime
    ) -> tuple[PaymentOrder, bool]:
        """The order for this hold: an existing one for the same key or hold, else a new READY one.

        Returns (order, created). Raises IdempotencyKeyReused when the key paid for another hold.
        """
        for _ in range(2):
            async with self._db.tx.begin() as conn:
                existing = await _find(conn, o.c.user_id == hold.user_id, o.c.idempotency_key == idempotency_key)
                if existing is None:
                    existing = await _find(conn, o.c.hold_id == hold.hold_id)
                if existing is not None:
                    if existing.hold_id != hold.hold_id:
                        raise IdempotencyKeyReused()
                    return existing, False
                order = PaymentOrder(
                    new_order_no(), hold.hold_id, hold.schedule_id, hold.user_id, amount, OrderStatus.READY, None
                )
                try:
                    await conn.execute(
                        o.insert().values(
                            order_no=order.order_no,
                            hold_id=order.hold_id,
                            schedule_id=order.schedule_id,
                            user_id=order.user_id,
                            amount=order.amount,
                            status=order.status.value,
                            idempotency_key=idempotency_key,
                            created_at=to_db_time(now),
                            updated_at=to_db_time(now),
                        )
                    )
                except IntegrityError as exc:
                    # A concurrent request with the same key or hold won the insert: read theirs.
                    if not is_duplicate_key(exc):
                        raise
                    continue
                return order, True
        raise RuntimeError("payment order neither found nor created")  # pragma: no cover

    async def get_order(self, order_no: str) -> PaymentOrder | None:
        async with self._db.auto.connect() as conn:
            return await _find(conn, o.c.order_no == order_no)

    async def get_order_for_hold(self, hold_id: str) -> PaymentOrder | None:
        async with self._db.auto.connect() as conn:
            return await _find(conn, o.c.hold_id == hold_id)

    async def record_paid(
        self, order_no: str, pg_tx_id: str, event_id: str, now: datetime
    ) -> tuple[PaymentOrder | None, bool]:
        """READY -> PAID, the hold's rows -> PAYMENT_PENDING and one outbox row, in one transaction.

        Returns (order as it now is, whether this call changed it). A replay changes nothing.
        """
        async with self._db.tx.begin() as conn:
            order = await _find(conn, o.c.order_no == order_no, for_update=True)
            if order is None or order.status is not OrderStatus.READY:
                return order, False
            await conn.execute(
                o.update()
                .where(o.c.order_no == order_no, o.c.status == OrderStatus.READY.value)
                .values(status=OrderStatus.PAID.value, pg_tx_id=pg_tx_id, updated_at=to_db_time(now))
            )
            await move_hold(conn, order.hold_id, ReservationStatus.PAYMENT_PENDING, now)
            message = ConfirmRequested(event_id, order_no, order.hold_id, order.schedule_id, order.user_id)
            await outbox.append(conn, CONFIRM_REQUESTED, str(order.schedule_id), message.to_dict(), now)
        return replace(order, status=OrderStatus.PAID, pg_tx_id=pg_tx_id), True

    async def record_failed(
        self, order_no: str, pg_tx_id: str, now: datetime
    ) -> tuple[PaymentOrder | None, HoldRecord | None]:
        """READY -> FAILED and the hold released; returns (order, the released hold or None)."""
        async with self._db.tx.begin() as conn:
            order = await _find(conn, o.c.order_no == order_no, for_update=True)
            if order is None or order.status is not OrderStatus.READY:
                return order, None
            await conn.execute(
                o.update()
                .where(o.c.order_no == order_no)
                .values(status=OrderStatus.FAILED.value, pg_tx_id=pg_tx_id, updated_at=to_db_time(now))
            )
            released = await move_hold(conn, order.hold_id, ReservationStatus.RELEASED, now)
            hold = await load_hold(conn, order.hold_id) if released else None
        return replace(order, status=OrderStatus.FAILED, pg_tx_id=pg_tx_id), hold
