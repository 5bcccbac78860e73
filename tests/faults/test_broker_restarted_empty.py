"""The broker crashes mid-sale and comes back EMPTY on the same port: every topic, message and offset gone.

Confirmations published before the crash may be lost with it. The reconciler re-publishes
paid orders not confirmed within TICKETING_SETTLE_WITHIN_S (5 s here, so the test sees the
repair soon), and the consumers must carry on against the new, empty broker.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.faults.recovery import assert_recovered
from tests.faults.redelivery import outbox_messages
from tests.faults.results import FaultResults
from tests.faults.sale import Sale, SalePlan
from tests.faults.stack import Stack

pytestmark = [
    pytest.mark.faults,
    pytest.mark.timeout(300),
    pytest.mark.stack_env({"TICKETING_SETTLE_WITHIN_S": "5"}),
]

BUYERS = 200


async def test_broker_restarted_empty_mid_sale_has_every_paid_order_confirmed_again(
    fault_stack: Stack, fault_results: FaultResults
) -> None:
    sale = await Sale.open(fault_stack, SalePlan(buyers=BUYERS, arrival_s=4.0))

    async def crash_broker(sale: Sale) -> None:
        await sale.progress.reached("paid", BUYERS // 3)
        sale.fault_began()
        await asyncio.to_thread(fault_stack.broker.kill)
        await asyncio.to_thread(fault_stack.broker.start)

    await sale.run(crash_broker)
    await sale.settle()
    republished = len(await outbox_messages(fault_stack, sale.schedule_id)) - BUYERS
    notes = [f"{republished} confirmations re-published by the reconciler"]
    row = fault_results.add(await sale.finish("broker crashed, back empty", "test_broker_restarted_empty", notes))

    assert_recovered(row)
    assert sale.paid_since_fault_began() > 0, row.summary()
    assert row.buyer_outcomes == {"paid": BUYERS}, sale.failures()
    assert row.confirmed == BUYERS, row.summary()
