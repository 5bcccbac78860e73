"""The baseline: the whole harness, 200 buyers, no fault. Every paid order must be confirmed."""

from __future__ import annotations

import pytest

from tests.faults.results import FaultResults
from tests.faults.sale import Sale, SalePlan
from tests.faults.stack import Stack

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

BUYERS = 200


async def test_a_sale_without_faults_confirms_every_paid_order(fault_stack: Stack, fault_results: FaultResults) -> None:
    sale = await Sale.open(fault_stack, SalePlan(buyers=BUYERS))
    await sale.run()
    row = fault_results.add(await sale.finish("none (baseline)", test="test_no_fault"))

    assert row.buyer_outcomes == {"paid": BUYERS}, sale.failures()
    assert row.accepted == row.paid == row.confirmed == BUYERS, row.summary()
    assert (row.stuck, row.double_sold, row.lost, row.refunded) == (0, 0, 0, 0), row.summary()
    assert row.violations == 0, row.summary() + f"\n{row.violation_details[:10]}"
    assert row.settled, row.summary()
