"""Every confirmation delivered again, twice and in reverse order, after the sale settled.

Consumers are idempotent: a redelivered confirm-requested message (same event id) finds its
processed-event row and changes nothing, whatever order the copies arrive in.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.faults.recovery import assert_recovered
from tests.faults.redelivery import outbox_messages, publish, until_consumed
from tests.faults.results import FaultResults
from tests.faults.sale import Sale, SalePlan
from tests.faults.stack import Stack
from ticketing.domain.messages import CONFIRM_REQUESTED

pytestmark = [pytest.mark.faults, pytest.mark.faults_quick, pytest.mark.timeout(300)]

BUYERS = 200
COPIES = 2


async def settled_state(sale: Sale) -> dict[str, list[tuple[object, ...]]]:
    """What a redelivery must not touch: orders, reservations (status and last change), guard rows."""
    s = {"s": sale.schedule_id}
    queries = {
        "orders": "SELECT order_no, status, updated_at FROM payment_order WHERE schedule_id = :s ORDER BY order_no",
        "reservations": "SELECT id, seat_no, status, updated_at FROM reservation WHERE schedule_id = :s ORDER BY id",
        "guard": "SELECT seat_no, reservation_id, confirmed_at FROM confirmed_seat_guard WHERE schedule_id = :s"
        " ORDER BY seat_no",
    }
    return {name: await sale.stack.db_rows(sa.text(q), s) for name, q in queries.items()}


async def test_every_confirmation_delivered_twice_more_in_reverse_order_changes_nothing(
    fault_stack: Stack, fault_results: FaultResults
) -> None:
    sale = await Sale.open(fault_stack, SalePlan(buyers=BUYERS))
    await sale.run()
    settlement = await sale.settle()
    assert settlement.settled, settlement
    await until_consumed(fault_stack)
    before = await settled_state(sale)
    messages = await outbox_messages(fault_stack, sale.schedule_id)
    assert len(messages) >= BUYERS

    sale.fault_began()
    await publish(fault_stack, CONFIRM_REQUESTED, [m for m in reversed(messages) for _ in range(COPIES)])
    sale.fault_ended()
    consumed_s = await until_consumed(fault_stack)
    after = await settled_state(sale)
    sale.settlement = None  # settle again, counting from the redelivery
    notes = [f"{len(messages) * COPIES} copies of {len(messages)} messages consumed in {consumed_s:.1f} s"]
    row = fault_results.add(
        await sale.finish("every confirm redelivered 2x, reversed", "test_duplicate_delivery", notes)
    )

    assert_recovered(row)
    assert row.confirmed == BUYERS, row.summary()
    changed = {name: len(set(before[name]) ^ set(after[name])) for name in before}
    assert after == before, f"rows changed by the redelivery (symmetric difference): {changed}"
