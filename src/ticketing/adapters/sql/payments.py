"""Payment orders: idempotent creation and reads (the webhook's decisions live in services/payments.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.adapters.sql import tables as t
from ticketing.adapters.sql.database import Database
from ticketing.adapters.sql.errors import is_duplicate_key
from ticketing.adapters.sql.times import to_db_time
from ticketing.adapters.sql.transient import RetryPolicy
from ticketing.domain.errors import IdempotencyKeyReused
from ticketing.domain.ids import ScheduleId, UserId
from ticketing.domain.payments import OrderStatus, PaymentOrder, new_order_no
from ticketing.domain.reservations import HoldRecord

o = t.payment_order


def order_from_row(row: Any) -> PaymentOrder:
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
    return order_from_row(row) if row else None


class SqlPayments:
    def __init__(self, db: Database, retry: RetryPolicy) -> None:
        self._db = db
        self._retry = retry

    async def create_order(
        self, hold: HoldRecord, amount: Decimal, idempotency_key: str, now: datetime
    ) -> tuple[PaymentOrder, bool]:
        """The order for this hold: an existing one for the same key or hold, else a new READY one.

        Returns (order, created). Raises IdempotencyKeyReused when the key paid for another hold.
        """
        return await self._retry.run(lambda: self._create_order(hold, amount, idempotency_key, now))

    async def _create_order(
        self, hold: HoldRecord, amount: Decimal, idempotency_key: str, now: datetime
    ) -> tuple[PaymentOrder, bool]:
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
