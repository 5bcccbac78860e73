"""Payments racing their hold's expiry: buyers pay right around the moment the hold expirer may take the seats back.

The hold lives 5 s (the shortest TTL a schedule may have) and the payment window is 2 s:
a buyer orders ~3 s in (the hold then has ~2 s left, as long as the window) and pays
1.8-2.4 s later, while the expirer runs every 0.2 s. Whichever wins, a paid order ends
CONFIRMED or REFUNDED, never both, and no seat is sold twice.
"""

from __future__ import annotations

from datetime import UTC

import pytest
import sqlalchemy as sa

from tests.faults.recovery import assert_recovered
from tests.faults.results import FaultResults
from tests.faults.sale import Sale, SalePlan
from tests.faults.stack import Stack

pytestmark = [
    pytest.mark.faults,
    pytest.mark.timeout(300),
    pytest.mark.stack_env({"TICKETING_PAYMENT_WINDOW_S": "2", "TICKETING_EXPIRER_INTERVAL_S": "0.2"}),
]

BUYERS = 200
HOLD_TTL_S = 5

EXPIRIES = sa.text(
    "SELECT o.order_no, o.status, MIN(r.expires_at) FROM payment_order o JOIN reservation r ON r.hold_id = o.hold_id"
    " WHERE o.schedule_id = :s GROUP BY o.order_no, o.status"
)


async def paid_after_expiry(sale: Sale) -> dict[str, int]:
    """Order status -> buyers who sent their payment after their hold's (extended) expiry."""
    rows = {
        str(no): (str(status), expires_at)
        for no, status, expires_at in await sale.stack.db_rows(EXPIRIES, {"s": sale.schedule_id})
    }
    late: dict[str, int] = {}
    for b in sale.buyers:
        if b.order_no in rows and b.pay_sent_at is not None:
            status, expires_at = rows[b.order_no]
            if b.pay_sent_at > expires_at.replace(tzinfo=UTC):
                late[status] = late.get(status, 0) + 1
    return late


async def test_payments_racing_hold_expiry_end_confirmed_or_refunded_never_both(
    fault_stack: Stack, fault_results: FaultResults
) -> None:
    plan = SalePlan(
        buyers=BUYERS, hold_ttl_s=HOLD_TTL_S, arrival_s=3.0, order_delay_s=(2.8, 3.2), pay_delay_s=(1.8, 2.4)
    )
    sale = await Sale.open(fault_stack, plan)
    sale.fault_began()
    await sale.run()
    sale.fault_ended()
    await sale.settle()
    notes = [f"payments sent after the hold expired, by order status: {await paid_after_expiry(sale)}"]
    row = fault_results.add(await sale.finish("payment racing hold expiry", "test_hold_expiry_race", notes))

    assert_recovered(row)
    assert row.confirmed + row.refunded == row.paid, row.summary()
    # Every buyer paid, or lost the hold before paying (409 HOLD_EXPIRED on the order).
    unexpected = {b.final for b in sale.buyers if b.outcome != "paid" and "HOLD_EXPIRED" not in b.final}
    assert not unexpected, sale.failures()
