"""What the single-process tests prove, now across processes: two API replicas behind HAProxy,
a Redis Cluster, two copies of every worker, the confirm consumers sharing one group."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.cluster.conftest import ClusterStack
from tests.faults.sale import Sale, SalePlan
from ticketing.adapters.access_tokens import AccessTokens

pytestmark = pytest.mark.timeout(600)

CONTENDERS = 1000


async def admitted_pass(client: httpx.AsyncClient, schedule_id: int, token: str) -> str:
    """Enter the line and poll at the server's pace until admitted; the pass token."""
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/api/v1/schedules/{schedule_id}/queue"
    r = await client.post(path, headers=headers)
    while True:
        assert r.status_code in (200, 201, 202), r.text
        body = r.json()
        if body["status"] == "ADMITTED":
            return str(body["pass_token"])
        await asyncio.sleep(int(body.get("poll_after_ms", 500)) / 1000)
        r = await client.get(path, headers=headers)


async def test_a_thousand_buyers_on_one_seat_through_the_balancer_make_exactly_one_winner(
    cluster_stack: ClusterStack,
) -> None:
    sale = await Sale.open(cluster_stack, SalePlan(buyers=CONTENDERS, admit_per_tick=250))
    seat = sale.seat_nos[0]
    tokens = AccessTokens(cluster_stack.settings.jwt_secret)
    users = [tokens.issue(f"rival-{i}") for i in range(CONTENDERS)]
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=cluster_stack.base_url, limits=limits, timeout=60.0) as client:
        passes = await asyncio.gather(*(admitted_pass(client, sale.schedule_id, u) for u in users))
        start = asyncio.Event()

        async def hold(token: str, pass_token: str) -> tuple[int, str]:
            await start.wait()
            r = await client.post(
                f"/api/v1/schedules/{sale.schedule_id}/holds",
                json={"seat_nos": [seat]},
                headers={"Authorization": f"Bearer {token}", "X-Queue-Pass": pass_token},
            )
            return r.status_code, str(r.json().get("code", ""))

        attempts = [asyncio.create_task(hold(u, p)) for u, p in zip(users, passes, strict=True)]
        await asyncio.sleep(0.2)
        start.set()
        answers = Counter(await asyncio.gather(*attempts))
        seats = (await client.get(f"/api/v1/schedules/{sale.schedule_id}/seats")).json()["seats"]
    assert answers[(201, "")] == 1, answers
    assert answers[(409, "SEAT_TAKEN")] == CONTENDERS - 1, answers
    assert {s["seat_no"]: s["status"] for s in seats}[seat] == "HELD"
    report = await cluster_stack.check(sale.schedule_id)
    assert report.violations == [], report.violations[:5]


async def test_a_sellout_across_processes_keeps_every_invariant_and_the_queue_fifo(
    cluster_stack: ClusterStack,
) -> None:
    buyers = 300
    sale = await Sale.open(cluster_stack, SalePlan(buyers=buyers, admit_per_tick=50, arrival_s=3.0))
    await sale.run()
    row = await sale.finish("none (cluster topology)", test="test_cluster_sellout")
    assert row.buyer_outcomes == {"paid": buyers}, sale.failures()
    assert row.accepted == row.paid == row.confirmed == buyers, row.summary()
    assert (row.stuck, row.double_sold, row.lost, row.refunded) == (0, 0, 0, 0), row.summary()
    # ticketing check verifies every invariant, FIFO admission among them (the admissions list).
    assert row.violations == 0, row.summary() + f"\n{row.violation_details[:10]}"
    assert sale.report is not None
    # The FIFO invariant was checked over every admission the line made.
    assert sale.report.checked["admissions"] == buyers, sale.report.checked
    # Both confirm consumers took part: the schedule's orders spread over the partitions.
    handled = [
        await cluster_stack.worker_metric("confirm-consumer", copy, "ticketing_consumer_messages_total")
        for copy in (0, 1)
    ]
    assert sum(handled) >= buyers
    assert min(handled) > 0, handled
