"""A deadlock storm: transactions on the private database that lock in the webhook's opposite order.

The webhook locks the order row (``payment_order``) and then the hold's ``reservation`` rows.
Each storm transaction takes one READY (about to be paid) or PAID order's reservation rows
first, waits a moment so the webhook can arrive and take the order row, then asks for the
order row: a real deadlock (MariaDB 1213). InnoDB rolls back the lighter transaction, so a
storm transaction first writes ballast rows (rolled back with it, never committed): the
webhook is the one chosen, and must retry, not answer 500. Each order is stormed once: a
storm hammering the last unpaid order for ever would outlast any retry budget, as no real
workload does.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from tests.faults.stack import DATABASE, Stack

DEADLOCK = 1213
LOCK_WAIT_TIMEOUT = 1205
BALLAST_ROWS = 30

PICK = sa.text(
    "SELECT order_no, hold_id FROM payment_order WHERE schedule_id = :s AND status = :status ORDER BY RAND() LIMIT 20"
)
BALLAST = sa.text("INSERT INTO event (title, description, created_at) VALUES ('storm ballast', '', UTC_TIMESTAMP(6))")
LOCK_RESERVATIONS = sa.text("SELECT id, status FROM reservation WHERE hold_id = :h ORDER BY id FOR UPDATE")
LOCK_ORDER = sa.text("SELECT status FROM payment_order WHERE order_no = :o FOR UPDATE")


@dataclass
class StormCounts:
    transactions: int = 0
    deadlocks: int = 0  # storm transactions InnoDB chose as the victim
    lock_waits: int = 0
    errors: int = 0

    def __str__(self) -> str:
        return (
            f"storm: {self.transactions} transactions, {self.deadlocks} lost a deadlock themselves,"
            f" {self.lock_waits} lock-wait timeouts, {self.errors} other errors"
        )


def _mysql_errno(exc: DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


async def lock_storm(
    stack: Stack, schedule_id: int, stop: asyncio.Event, connections: int = 4, hold_s: float = 0.25
) -> StormCounts:
    """Run storm transactions on ``connections`` connections of their own until ``stop``."""
    counts = StormCounts()
    stormed: set[str] = set()
    # READ COMMITTED as the service runs: row locks on the matching rows only, no gap locks.
    engine = create_async_engine(
        stack.db.url(DATABASE), pool_size=connections, max_overflow=0, isolation_level="READ COMMITTED"
    )

    async def one(conn: AsyncConnection) -> None:
        status = "READY" if random.random() < 0.85 else "PAID"
        candidates = (await conn.execute(PICK, {"s": schedule_id, "status": status})).all()
        await conn.rollback()
        picked = next((row for row in candidates if row[0] not in stormed), None)
        if picked is None:
            await asyncio.sleep(0.05)
            return
        order_no, hold_id = picked
        stormed.add(order_no)
        counts.transactions += 1
        try:
            async with conn.begin():
                for _ in range(BALLAST_ROWS):
                    await conn.execute(BALLAST)
                await conn.execute(LOCK_RESERVATIONS, {"h": hold_id})
                await asyncio.sleep(hold_s * random.uniform(0.5, 1.5))
                await conn.execute(LOCK_ORDER, {"o": order_no})
                raise _RollBack  # the ballast never stays
        except _RollBack:
            pass
        except DBAPIError as exc:
            code = _mysql_errno(exc)
            if code == DEADLOCK:
                counts.deadlocks += 1
            elif code == LOCK_WAIT_TIMEOUT:
                counts.lock_waits += 1
            else:
                counts.errors += 1

    async def loop() -> None:
        while not stop.is_set():
            try:
                async with engine.connect() as conn:
                    await conn.execute(sa.text("SET SESSION innodb_lock_wait_timeout = 5"))
                    await conn.commit()
                    while not stop.is_set():
                        await one(conn)
            except DBAPIError:  # the connection broke: a new one, after a pause
                counts.errors += 1
                await asyncio.sleep(0.2)

    try:
        await asyncio.gather(*(loop() for _ in range(connections)))
    finally:
        await engine.dispose()
    return counts


class _RollBack(Exception):
    """Leaves the storm transaction's block so that it rolls back."""
