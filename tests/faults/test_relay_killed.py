"""outbox-relay killed with SIGKILL again and again while payments flow, restarted each time.

A relay killed between its publish and its mark-SENT leaves rows leased to a dead relay:
with TICKETING_RELAY_LEASE_S=3 they are sent again within seconds, and the consumers turn
the second copy into a no-op. No outbox row may be left unsent, no order unconfirmed.
"""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from tests.faults.recovery import assert_recovered
from tests.faults.redelivery import message_count, outbox_messages
from tests.faults.results import FaultResults
from tests.faults.sale import Sale, SalePlan
from tests.faults.stack import Stack

pytestmark = [
    pytest.mark.faults,
    pytest.mark.timeout(300),
    pytest.mark.stack_env({"TICKETING_RELAY_LEASE_S": "3"}),
]

BUYERS = 200
RELAY = "outbox-relay"
KILLS = 4
EVERY_S = 1.5


async def test_outbox_relay_killed_repeatedly_mid_sale_sends_every_confirmation(
    fault_stack: Stack, fault_results: FaultResults
) -> None:
    # Payments spread over ~10 s, so that outbox rows are being relayed at every kill.
    sale = await Sale.open(fault_stack, SalePlan(buyers=BUYERS, arrival_s=8.0, pay_delay_s=(0.0, 2.0)))
    kills: list[int] = []

    async def kill_the_relay(sale: Sale) -> None:
        await sale.progress.reached("paid", 20)
        sale.fault_began()
        for _ in range(KILLS):
            await asyncio.sleep(EVERY_S)
            fault_stack.kill(RELAY)
            kills.append(sale.progress["paid"])
            fault_stack.start_process(RELAY)

    await sale.run(kill_the_relay)
    await sale.settle()
    unsent = await fault_stack.db_rows(
        sa.text("SELECT status, COUNT(*) FROM outbox_event WHERE status <> 'SENT' GROUP BY status")
    )
    # More messages on the topic than outbox rows: rows a killed relay published but had not marked.
    messages = await message_count(fault_stack)
    rows = len(await outbox_messages(fault_stack, sale.schedule_id))
    notes = [f"killed at paid={kills}", f"{messages} confirm messages on the broker for {rows} outbox rows"]
    row = fault_results.add(await sale.finish("outbox-relay SIGKILLed x4", "test_relay_killed", notes))

    assert_recovered(row)
    assert len(kills) == KILLS, kills
    assert sale.paid_since_fault_began() > 0, row.summary()
    assert unsent == [], f"outbox rows never sent: {unsent}"
    assert row.buyer_outcomes == {"paid": BUYERS}, sale.failures()
    assert row.confirmed == BUYERS, row.summary()
