"""Payments racing their hold's expiry, and a second buyer waiting for each seat to come free.

The hold lives 5 s (the shortest TTL a schedule may have) and the payment window is 2 s:
a buyer orders ~3 s in (the hold then has ~2 s left, as long as the window) and pays
1.8-2.4 s later, while the expirer runs every 0.2 s. For half the seats a contender tries
to hold the same seat from just before the expiry on, and when it gets it goes on like the
first buyer did (so its own payment races its own hold's expiry too).
Whichever wins, a paid order ends CONFIRMED or REFUNDED, never both, and no seat is sold
twice; a payment made after its hold lapsed yields to a contender holding the seat in time.
How many were refunded, and who paid when, is reported.
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
CONTENDERS = 100
HOLD_TTL_S = 5

EXPIRIES = sa.text(
    "SELECT o.order_no, o.status, MIN(r.expires_at) FROM payment_order o JOIN reservation r ON r.hold_id = o.hold_id"
    " WHERE o.schedule_id = :s GROUP BY o.order_no, o.status"
)


async def payment_timing(sale: Sale) -> dict[str, int | float]:
    """How the paying buyers fared: "<first buyer|contender>, paid <in time|late>: <order status>"
    -> how many, late meaning the payment was sent after the buyer's hold (as extended) expired;
    and for orders refunded although paid in time, how long before the expiry they were paid."""
    rows = {
        str(no): (str(status), at) for no, status, at in await sale.stack.db_rows(EXPIRIES, {"s": sale.schedule_id})
    }
    counts: dict[str, int | float] = {}
    ahead_s: list[float] = []
    for b in sale.buyers:
        if b.order_no in rows and b.pay_sent_at is not None:
            status, expires_at = rows[b.order_no]
            left_s = (expires_at.replace(tzinfo=UTC) - b.pay_sent_at).total_seconds()
            who = "contender" if b.rival is not None else "first buyer"
            key = f"{who}, paid {'late' if left_s < 0 else 'in time'}: {status}"
            counts[key] = counts.get(key, 0) + 1
            if left_s >= 0 and status == "REFUNDED":
                ahead_s.append(left_s)
    if ahead_s:
        counts["refunded though paid in time: at most s before expiry"] = round(max(ahead_s), 2)
    return dict(sorted(counts.items()))


async def test_payments_racing_hold_expiry_end_confirmed_or_refunded_never_both(
    fault_stack: Stack, fault_results: FaultResults
) -> None:
    plan = SalePlan(
        buyers=BUYERS,
        hold_ttl_s=HOLD_TTL_S,
        arrival_s=3.0,
        order_delay_s=(2.8, 3.2),
        pay_delay_s=(1.8, 2.4),
        contenders=CONTENDERS,
        contender_after_s=(HOLD_TTL_S - 0.3, HOLD_TTL_S),
        contender_patience_s=2.0,
    )
    sale = await Sale.open(fault_stack, plan)
    sale.fault_began()
    await sale.run()
    sale.fault_ended()
    await sale.settle()
    notes = [f"payments by who paid when, and the order's end: {await payment_timing(sale)}"]
    row = fault_results.add(await sale.finish("payment racing hold expiry", "test_hold_expiry_race", notes))

    assert_recovered(row)
    assert row.confirmed + row.refunded == row.paid, row.summary()
    assert row.paid >= BUYERS, row.summary()
    # A first buyer pays, or loses the hold before paying (409 HOLD_EXPIRED on the order);
    # a contender pays, or never sees the seat come free.
    unexpected = [
        b.final for b in sale.buyers if b.outcome not in ("paid", "lost_race") and "HOLD_EXPIRED" not in b.final
    ]
    assert not unexpected, sale.failures()
