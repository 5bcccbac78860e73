"""confirm-consumer killed with SIGKILL again and again while confirmations flow, a second copy beside it.

A consumer killed after its database commit and before its offset commit gets the same
records again from the broker when it (or the other copy, after a rebalance) comes back:
the processed-event row written with the confirmation makes the replay a no-op.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.faults.recovery import assert_recovered
from tests.faults.results import FaultResults
from tests.faults.sale import Sale, SalePlan
from tests.faults.stack import Stack

pytestmark = [pytest.mark.faults, pytest.mark.faults_quick, pytest.mark.timeout(300)]

BUYERS = 200
CONSUMER = "confirm-consumer"
KILLS = 4
EVERY_S = 1.5


async def test_confirm_consumer_killed_repeatedly_mid_sale_confirms_every_paid_order_once(
    fault_stack: Stack, fault_results: FaultResults
) -> None:
    # Payments spread over ~10 s, so that confirmations flow through at every kill.
    sale = await Sale.open(fault_stack, SalePlan(buyers=BUYERS, arrival_s=8.0, pay_delay_s=(0.0, 2.0)))
    kills: list[str] = []

    async def kill_consumers(sale: Sale) -> None:
        await sale.progress.reached("paid", 20)
        sale.fault_began()
        second = await asyncio.to_thread(fault_stack.add_worker, CONSUMER)
        for i in range(KILLS):
            await asyncio.sleep(EVERY_S)
            victim = CONSUMER if i % 2 == 0 else second
            fault_stack.kill(victim)
            kills.append(f"{victim}@paid={sale.progress['paid']}")
            if i < KILLS - 1:
                fault_stack.start_process(victim)
        # The second copy stays dead: its partitions go back to the first after the session timeout.

    await sale.run(kill_consumers)
    row = fault_results.add(
        await sale.finish("confirm-consumer SIGKILLed x4, 2 copies", "test_consumer_killed", [f"kills {kills}"])
    )

    assert_recovered(row)
    assert len(kills) == KILLS, kills
    assert sale.paid_since_fault_began() > 0, row.summary()
    assert row.buyer_outcomes == {"paid": BUYERS}, sale.failures()
    assert row.confirmed == BUYERS, row.summary()
