"""What the single-process tests prove, now across processes: two API replicas behind HAProxy,
a Redis Cluster, two copies of every worker, the confirm consumers sharing one group; and the
live streams across replicas and Redis nodes.

This module's topology is started the way a person starts it, by `ticketing cluster` (what
`make cluster` runs) on ports of its own, and stopped the same way: Ctrl-C (SIGINT), which
must leave no process behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis, RedisCluster

from tests.cluster.conftest import ClusterStack, topology_env
from tests.e2e.flows import next_event
from tests.e2e.test_cli import alive, descendants
from tests.faults.sale import Sale, SalePlan
from ticketing.adapters.access_tokens import AccessTokens
from ticketing.adapters.redis.keys import Keys
from ticketing.adapters.sql.database import drop_database
from ticketing.devtools.broker import free_port, port_is_free, port_is_listening
from ticketing.devtools.cluster import ClusterPorts
from ticketing.domain.ids import ScheduleId
from ticketing.workers import WORKER_NAMES

pytestmark = pytest.mark.timeout(600)

CONTENDERS = 1000


def free_base_port() -> int:
    """A base at which every port of the topology (cluster bus included) is free now."""
    for _ in range(50):
        # below the ephemeral range (32768+), where outgoing connections take ports at random
        base = random.randrange(10000, 22000, 100)
        if all(port_is_free(port) for port in ClusterPorts.starting_at(base, free_port()).all()):
            return base
    raise AssertionError("no free block of ports")


@dataclass
class Launched:
    stack: ClusterStack
    process: subprocess.Popen[bytes]
    base: int
    log: Path


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    run = uuid.uuid4().hex[:10]
    env, database_url = topology_env(run)
    balancer, base = free_port(), free_base_port()
    env["TICKETING_API_PORT"] = str(balancer)
    log = tmp_path_factory.mktemp(f"cluster-{run}") / "cluster.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ticketing.cli", "cluster", "--base-port", str(base)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        while "Ticketing cluster is running" not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text()[-5000:]
            assert time.monotonic() < deadline, log.read_text()[-5000:]
            time.sleep(0.5)
        ports = ClusterPorts.starting_at(base, balancer)
        yield Launched(ClusterStack(ports, env, database_url, None), proc, base, log)
    finally:
        stop_command(proc)
        asyncio.run(drop_database(database_url))


def stop_command(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a person would (the command stops every process it started); only if it
    does not end in time, SIGKILL to it and to every process under it (each child of the
    topology runs in a session of its own, which killing the command's group would miss)."""
    if proc.poll() is not None:
        return
    tree = descendants(proc.pid)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        for pid in (proc.pid, *tree):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def cluster_stack(launched: Launched) -> ClusterStack:
    return launched.stack


async def test_make_cluster_says_where_everything_is_and_serves_the_demo(launched: Launched) -> None:
    banner = launched.log.read_text()
    balancer = launched.stack.ports.balancer
    assert f"Balancer   http://127.0.0.1:{balancer}/api/v1/events" in banner
    assert f"Cluster on 127.0.0.1:{launched.base}-{launched.base + 5} (3 masters, 3 replicas)" in banner
    async with httpx.AsyncClient(base_url=launched.stack.base_url, timeout=10) as client:
        assert (await client.get("/readyz")).status_code == 200
        events = (await client.get("/api/v1/events?limit=200")).json()
    assert any(e["title"].startswith("Demo") for e in events)
    # six Redis nodes, the broker, HAProxy, two API replicas, two copies of every worker
    assert len(descendants(launched.process.pid)) >= 6 + 1 + 1 + 2 + 2 * len(WORKER_NAMES)


def test_make_cluster_refuses_ports_in_use_and_says_which(launched: Launched) -> None:
    """A second `make cluster` on the same ports (the first one is running) starts nothing."""
    done = subprocess.run(
        [sys.executable, "-m", "ticketing.cli", "cluster", "--base-port", str(launched.base)],
        env={**os.environ, "TICKETING_API_PORT": str(free_port())},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"ports in use: {launched.base + 10}, {launched.base + 11}, {launched.base}, " in done.stdout + done.stderr
    assert "(choose others with --base-port)" in done.stdout + done.stderr


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
    ports = cluster_stack.ports
    keys = Keys(cluster_stack.settings.redis_key_prefix)
    api_1, api_2 = (f"http://127.0.0.1:{port}" for port in ports.api[:2])
    cluster = await RedisCluster(host="127.0.0.1", port=ports.redis[0]).initialize()
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
        listening = await subscribed_on(ports.redis, keys.seat_events(ScheduleId(pin.schedule_id)))
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
        assert await subscribed_on(ports.redis, keys.seat_events(ScheduleId(sale.schedule_id))) == listening

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


def test_ctrl_c_stops_every_process_of_make_cluster(launched: Launched) -> None:
    """Last in the module: SIGINT (Ctrl-C) ends the command, with every process it started."""
    tree = descendants(launched.process.pid)
    launched.process.send_signal(signal.SIGINT)
    assert launched.process.wait(timeout=60) == 0, launched.log.read_text()[-3000:]
    time.sleep(0.2)
    assert not [pid for pid in tree if alive(pid)], "processes left behind"
    assert not [port for port in launched.stack.ports.all() if port_is_listening(port)]
