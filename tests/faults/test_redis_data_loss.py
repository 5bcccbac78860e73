"""Redis restarted empty a third into the sale: every pass, line, seat lock and the seat map are gone.

Buyers whose pass the server no longer knows enter the line again; holds answer 503
SEAT_MAP_REBUILDING (Retry-After) until the reconciler has rebuilt the seat state from the
database. No payment may be lost, and a seat sold before the wipe must show SOLD again.
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


async def test_redis_restarted_empty_mid_sale_loses_no_payment_and_shows_sold_seats_sold_again(
    fault_stack: Stack, fault_results: FaultResults
) -> None:
    # Arrivals over 6 s, each choosing a seat for up to 2 s: the wipe finds buyers with a pass
    # and no hold yet, holding and paying.
    sale = await Sale.open(fault_stack, SalePlan(buyers=BUYERS, arrival_s=6.0, hold_delay_s=(0.5, 2.0)))
    sold_before_wipe: set[str] = set()

    async def wipe_redis(sale: Sale) -> None:
        await sale.progress.reached("paid", BUYERS // 3)
        statuses = await sale.reservation_statuses()
        sold_before_wipe.update(seat for seat, s in statuses.items() if "CONFIRMED" in s)
        sale.fault_began()
        await asyncio.to_thread(fault_stack.redis.restart, wipe=True)

    await sale.run(wipe_redis)
    notes = [f"{len(sold_before_wipe)} seats sold before the wipe", f"{sale.requeues()} requeues after a lost pass"]
    row = fault_results.add(await sale.finish("Redis restarted empty mid-sale", "test_redis_data_loss", notes))

    assert_recovered(row)
    assert sale.paid_since_fault_began() > 0, row.summary()
    assert sold_before_wipe, "the wipe came before any seat was sold"
    seat_map = await sale.seat_statuses()
    assert {seat: seat_map.get(seat) for seat in sold_before_wipe} == dict.fromkeys(sold_before_wipe, "SOLD")
    assert row.buyer_outcomes == {"paid": BUYERS}, sale.failures()
