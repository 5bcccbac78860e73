"""Redis frozen (SIGSTOP) for 10 s mid-sale: connections stay open and nothing answers.

Every Redis call times out after TICKETING_NETWORK_TIMEOUT_S; the API answers 503 with
Retry-After meanwhile (never 500) and buyers retry. Payments already in the database go
on to be confirmed once Redis answers again.
"""

from __future__ import annotations

import pytest

from tests.faults.recovery import assert_recovered
from tests.faults.results import FaultResults
from tests.faults.sale import Sale, SalePlan, frozen
from tests.faults.stack import Stack

pytestmark = [pytest.mark.faults, pytest.mark.faults_slow, pytest.mark.timeout(300)]

BUYERS = 200
PAUSE_S = 10.0


async def test_redis_unreachable_for_10_s_mid_sale_answers_503_and_loses_no_payment(
    fault_stack: Stack, fault_results: FaultResults
) -> None:
    sale = await Sale.open(fault_stack, SalePlan(buyers=BUYERS, arrival_s=4.0))

    await sale.run(frozen(fault_stack.redis, PAUSE_S, after_paid=BUYERS // 3))
    row = fault_results.add(await sale.finish("Redis frozen 10 s (SIGSTOP)", "test_redis_unreachable"))

    assert_recovered(row)
    assert sale.paid_since_fault_began() > 0, row.summary()
    assert row.buyer_outcomes == {"paid": BUYERS}, sale.failures()
