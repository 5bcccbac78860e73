"""A deadlock storm during the payments: another client locks reservation then order, the webhook's opposite order.

Real deadlocks (MariaDB 1213) follow, and the webhook is made their victim (the storm's
transactions are heavier). The service retries a transaction that lost a deadlock with
backoff: the API counts the retries, and no webhook is ever answered 500.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.faults.lock_storm import StormCounts, lock_storm
from tests.faults.recovery import assert_recovered
from tests.faults.results import FaultResults
from tests.faults.sale import Sale, SalePlan
from tests.faults.stack import Stack

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

BUYERS = 200
RETRIES = "ticketing_db_transaction_retries_total"


async def test_deadlock_storm_against_the_webhook_is_retried_and_never_answers_500(
    fault_stack: Stack, fault_results: FaultResults
) -> None:
    # A buyer pays 0.2-1 s after ordering: READY orders for the storm to lock, webhooks to collide with.
    sale = await Sale.open(fault_stack, SalePlan(buyers=BUYERS, arrival_s=4.0, pay_delay_s=(0.2, 1.0)))
    storm: list[StormCounts] = []

    async def storm_the_locks(sale: Sale) -> None:
        await sale.progress.reached("ordered", 10)
        sale.fault_began()
        stop = asyncio.Event()
        storming = asyncio.create_task(lock_storm(fault_stack, sale.schedule_id, stop))
        try:
            await sale.progress.reached("done", BUYERS, timeout_s=120)
        finally:
            stop.set()
            storm.append(await storming)

    await sale.run(storm_the_locks)
    retries = {
        reason: await fault_stack.api_metric(RETRIES, reason=reason) for reason in ("deadlock", "lock_wait_timeout")
    }
    notes = [str(storm[0]), f"API transaction retries {retries}"]
    row = fault_results.add(await sale.finish("deadlock storm vs the webhook", "test_deadlock_storm", notes))

    assert_recovered(row)
    assert sum(retries.values()) > 0, f"no transaction was retried: {row.summary()}"
    assert row.webhook_5xx == {}, row.summary()
    assert row.buyer_outcomes == {"paid": BUYERS}, sale.failures()
