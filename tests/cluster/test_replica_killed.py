"""kill -9 one API replica and one confirm consumer mid-sale: the balancer routes around the
dead replica, the group gives the dead consumer's partitions to the other one, and nothing
is lost: every paid order confirmed, ``ticketing check`` finds no violation."""

from __future__ import annotations

import pytest

from tests.cluster.conftest import ClusterStack
from tests.faults.recovery import assert_recovered
from tests.faults.sale import Sale, SalePlan

# A kill or a failover: part of `make faults` (over a minute each, on a topology of its own).
pytestmark = [pytest.mark.faults, pytest.mark.faults_slow, pytest.mark.timeout(600)]

BUYERS = 300


async def test_killing_an_api_replica_and_a_confirm_consumer_mid_sale_loses_nothing(
    cluster_stack: ClusterStack,
) -> None:
    topology = cluster_stack.topology
    # Arrivals and payments spread over ~10 s, so the kills land with buyers in every stage.
    plan = SalePlan(buyers=BUYERS, admit_per_tick=30, arrival_s=6.0, pay_delay_s=(0.0, 2.0), budget_s=120.0)
    sale = await Sale.open(cluster_stack, plan)
    handled_before: list[float] = []

    async def crash(sale: Sale) -> None:
        await sale.progress.reached("paid", 60)
        sale.fault_began()
        handled_before.append(
            await cluster_stack.worker_metric("confirm-consumer", 1, "ticketing_consumer_messages_total")
        )
        topology.kill("api-1")
        topology.kill("confirm-consumer-1")

    await sale.run(crash)
    row = await sale.finish("kill -9 api-1 and confirm-consumer-1", "test_replica_killed")

    assert_recovered(row)
    assert row.buyer_outcomes == {"paid": BUYERS}, sale.failures()
    assert row.confirmed == BUYERS, row.summary()
    assert sale.paid_since_fault_began() > 0, row.summary()
    # The surviving consumer took over the dead one's partitions and handled what came after.
    after = await cluster_stack.worker_metric("confirm-consumer", 1, "ticketing_consumer_messages_total")
    assert after > handled_before[0], (handled_before, after)
    assert not topology.children["api-1"].process, "the killed replica stays dead: the balancer did the rest"
