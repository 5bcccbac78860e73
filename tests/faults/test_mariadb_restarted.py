"""MariaDB stopped and started again (same datadir) mid-sale: every connection of every process breaks.

While the database is down the API answers 503 with Retry-After, never 500; the workers'
pools reconnect once it is back, and nothing committed before the stop is lost.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.faults.recovery import assert_recovered
from tests.faults.results import FaultResults
from tests.faults.sale import Sale, SalePlan
from tests.faults.stack import Stack

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

BUYERS = 200


async def test_mariadb_restarted_mid_sale_answers_503_meanwhile_and_loses_no_payment(
    fault_stack: Stack, fault_results: FaultResults
) -> None:
    sale = await Sale.open(fault_stack, SalePlan(buyers=BUYERS, arrival_s=4.0))
    down_s: list[float] = []

    async def restart_database(sale: Sale) -> None:
        await sale.progress.reached("paid", BUYERS // 3)
        sale.fault_began()
        began = asyncio.get_running_loop().time()
        await asyncio.to_thread(fault_stack.db.restart)
        down_s.append(asyncio.get_running_loop().time() - began)

    await sale.run(restart_database)
    notes = [f"database down {down_s[0]:.1f} s"] if down_s else []
    row = fault_results.add(await sale.finish("MariaDB restarted (stop, start)", "test_mariadb_restarted", notes))

    assert_recovered(row)
    assert sale.paid_since_fault_began() > 0, row.summary()
    assert row.buyer_outcomes == {"paid": BUYERS}, sale.failures()
