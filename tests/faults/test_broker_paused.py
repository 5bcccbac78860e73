"""The broker frozen (SIGSTOP) for 30 s mid-sale: paying goes on, confirming waits.

Payments are committed with their outbox rows whatever the broker does; the relay's
publishes time out and are retried, the consumers' fetches and commits stall. Within a
minute of the broker answering again every paid order is confirmed.
"""

from __future__ import annotations

import pytest

from tests.faults.recovery import assert_recovered
from tests.faults.results import FaultResults
from tests.faults.sale import Sale, SalePlan, frozen
from tests.faults.stack import Stack

pytestmark = [pytest.mark.faults, pytest.mark.faults_slow, pytest.mark.timeout(300)]

BUYERS = 200
PAUSE_S = 30.0


async def test_broker_paused_for_30_s_mid_sale_confirms_every_paid_order_afterwards(
    fault_stack: Stack, fault_results: FaultResults
) -> None:
    sale = await Sale.open(fault_stack, SalePlan(buyers=BUYERS, arrival_s=4.0))

    await sale.run(frozen(fault_stack.broker, PAUSE_S, after_paid=BUYERS // 3))
    row = fault_results.add(await sale.finish("broker frozen 30 s (SIGSTOP)", "test_broker_paused"))

    assert_recovered(row)
    assert sale.paid_since_fault_began() > 0, row.summary()
    assert row.buyer_outcomes == {"paid": BUYERS}, sale.failures()
    assert row.confirmed == BUYERS, row.summary()
