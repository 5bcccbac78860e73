"""What the single-process tests prove, now across processes: two API replicas behind HAProxy,
a Redis Cluster, two copies of every worker, the confirm consumers sharing one group; and the
live streams across replicas and Redis nodes."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis, RedisCluster

from tests.cluster.conftest import ClusterStack
from tests.e2e.flows import next_event
from tests.faults.sale import Sale, SalePlan
from ticketing.adapters.access_tokens import AccessTokens
from ticketing.adapters.redis.keys import Keys
from ticketing.domain.ids import ScheduleId

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
        seat_map = (await client.get(f"/api/v1/schedules/{sale.schedule_id}/seats")).json()["seats"]
    assert answers[(201, "")] == 1, answers
    assert answers[(409, "SEAT_TAKEN")] == CONTENDERS - 1, answers
    assert {s["seat_no"]: s["status"] for s in seat_map}[seat] == "HELD"
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


async def subscribed_on(ports: tuple[int, ...], channel: str) -> set[int]:
    """The Redis nodes (ports) holding a subscriber of ``channel``."""
    found = set()
    for port in ports:
        node = Redis(host="127.0.0.1", port=port)
        try:
            numsub = await node.execute_command("PUBSUB", "NUMSUB", channel)
            if int(numsub[1]) > 0:
                found.add(port)
        finally:
            await node.aclose()
    return found


@contextlib.asynccontextmanager
async def stream(client: httpx.AsyncClient, url: str) -> AsyncIterator[AsyncIterator[str]]:
    async with client.stream("GET", url) as r:
        assert r.status_code == 200, await r.aread()
        yield r.aiter_lines()


async def test_seat_and_queue_changes_reach_a_page_on_the_other_replica_across_redis_nodes(
    cluster_stack: ClusterStack,
) -> None:
    topology = cluster_stack.topology
    keys = Keys(cluster_stack.settings.redis_key_prefix)
    api_1, api_2 = (f"http://127.0.0.1:{port}" for port in topology.ports.api[:2])
    cluster = await RedisCluster(host="127.0.0.1", port=topology.ports.redis[0]).initialize()
    token = AccessTokens(cluster_stack.settings.jwt_secret).issue("stream-watcher")
    headers = {"Authorization": f"Bearer {token}"}
    async with contextlib.AsyncExitStack() as streams, httpx.AsyncClient(timeout=30.0) as watcher:
        # The first stream api-2 opens binds its pub/sub connection to that channel's node;
        # every later channel is subscribed on the same connection, so a schedule whose slot
        # another master serves is published on one node and heard on another.
        pin = await Sale.open(cluster_stack, SalePlan(buyers=1))
        pin_lines = await streams.enter_async_context(
            stream(watcher, f"{api_2}/api/v1/schedules/{pin.schedule_id}/seats/stream")
        )
        assert (await asyncio.wait_for(next_event(pin_lines), 10))[0] == "hello"
        listening = await subscribed_on(topology.ports.redis, keys.seat_events(ScheduleId(pin.schedule_id)))
        assert len(listening) == 1, listening
        for _ in range(12):
            sale = await Sale.open(cluster_stack, SalePlan(buyers=1, admit_per_tick=1))
            published_on = cluster.get_node_from_key(keys.seat_events(ScheduleId(sale.schedule_id))).port
            if published_on not in listening:
                break
        else:
            pytest.fail("every schedule landed on the pinned node's slots")
        seats = await streams.enter_async_context(
            stream(watcher, f"{api_2}/api/v1/schedules/{sale.schedule_id}/seats/stream")
        )
        queue = await streams.enter_async_context(
            stream(watcher, f"{api_2}/api/v1/schedules/{sale.schedule_id}/queue/stream")
        )
        assert (await asyncio.wait_for(next_event(seats), 10))[0] == "hello"
        assert (await asyncio.wait_for(next_event(queue), 10))[0] == "admission"
        assert await subscribed_on(topology.ports.redis, keys.seat_events(ScheduleId(sale.schedule_id))) == listening

        # A buyer enters and holds through api-1; the advancer (its own processes) admits.
        async with httpx.AsyncClient(base_url=api_1, timeout=30.0) as buyer:
            pass_token = await admitted_pass(buyer, sale.schedule_id, token)
            event, tick = await asyncio.wait_for(next_event(queue), 10)
            assert event == "admission", tick
            assert tick["served"] >= 1, tick
            seat = sale.seat_nos[0]
            r = await buyer.post(
                f"/api/v1/schedules/{sale.schedule_id}/holds",
                json={"seat_nos": [seat]},
                headers={**headers, "X-Queue-Pass": pass_token},
            )
            assert r.status_code == 201, r.text
        event, change = await asyncio.wait_for(next_event(seats), 10)
        assert (event, change) == ("seats", {"seats": {seat: "HELD"}})
    await cluster.aclose()
