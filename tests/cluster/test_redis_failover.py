"""Fail over the Redis master that serves the schedule's slot to its replica, mid-sale
(``CLUSTER FAILOVER`` on the replica): the sale goes on, or refuses cleanly with 503 and
Retry-After while the slot moves; no seat is ever sold twice and no payment is lost."""

from __future__ import annotations

import asyncio

import pytest

from tests.cluster.conftest import ClusterStack
from tests.faults.recovery import assert_recovered
from tests.faults.sale import Sale, SalePlan
from ticketing.adapters.redis.keys import Keys
from ticketing.domain.ids import ScheduleId

# A kill or a failover: part of `make faults` (over a minute each, on a topology of its own).
pytestmark = [pytest.mark.faults, pytest.mark.faults_slow, pytest.mark.timeout(600)]

BUYERS = 300


async def test_failing_over_the_schedules_redis_master_mid_sale_never_sells_a_seat_twice(
    cluster_stack: ClusterStack,
) -> None:
    topology = cluster_stack.topology
    plan = SalePlan(buyers=BUYERS, admit_per_tick=30, arrival_s=6.0, pay_delay_s=(0.0, 2.0), budget_s=120.0)
    sale = await Sale.open(cluster_stack, plan)
    queue_key = Keys(cluster_stack.settings.redis_key_prefix).queue(ScheduleId(sale.schedule_id))
    moved: list[tuple[int, int]] = []

    async def fail_over(sale: Sale) -> None:
        await sale.progress.reached("paid", 60)
        sale.fault_began()
        master = topology.redis.master_of(queue_key)
        promoted = await asyncio.to_thread(topology.redis.fail_over, master)
        moved.append((master, promoted))
        sale.fault_ended()

    await sale.run(fail_over)
    row = await sale.finish("Redis master of the schedule's slot failed over", "test_redis_failover")

    [(master, promoted)] = moved
    assert topology.redis.master_of(queue_key) == promoted != master
    assert_recovered(row)  # no seat twice, nothing lost, no violation, no 500
    statuses = {key.split()[1] for key in row.http_5xx}
    assert statuses <= {"503"}, f"only 503 (with Retry-After) while the slot moved: {row.http_5xx}"
    assert row.buyer_outcomes == {"paid": BUYERS}, sale.failures()
    assert row.confirmed == BUYERS, row.summary()
