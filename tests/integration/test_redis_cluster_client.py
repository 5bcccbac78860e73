"""The cluster client under a stampede: more calls in flight than its connections.

redis-py's asyncio cluster client fails a call at once (MaxConnectionsError) when a node's
connections are all busy, where the single-node client's blocking pool waits its turn. The
cluster bench saw 22,048 status polls answered 503 so, with Redis idle enough to answer them.
A real one-node Redis Cluster (every slot on one private redis-server) shows it. The same node
shows that every Lua script the app has stays within one slot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.asyncio import RedisCluster
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.conftest import make_schedule, pace_passes
from ticketing.adapters.redis.client import close, connect
from ticketing.adapters.redis.keys import Keys
from ticketing.adapters.redis.outbox_signal import RedisOutboxSignal
from ticketing.bootstrap import open_resources
from ticketing.devtools.cluster import free_cluster_ports
from ticketing.devtools.processes import ChildProcess
from ticketing.domain.ids import SeatNo, UserId
from ticketing.domain.rate_limits import Action
from ticketing.domain.seat_state import SeatEntry, Want
from ticketing.domain.waiting_room import Admitted, Waiting
from ticketing.settings import Settings


def start_one_node_cluster(port: int, root: Path) -> ChildProcess:
    """A redis-server in cluster mode on ``port`` holding every slot, or an error at once (with
    its log) when it cannot start: its cluster bus needs ``port + 10000`` too."""
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(root)]
    argv += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--save", "", "--appendonly", "no"]
    log = root / "redis.log"
    node = ChildProcess.spawn("redis-cluster-node", argv, log)
    # No retries and short timeouts: a node that is not there must not stall the fixture.
    admin = redis.Redis(port=port, socket_timeout=2.0, socket_connect_timeout=1.0, retry=Retry(NoBackoff(), 0))
    try:
        deadline = time.monotonic() + 10.0
        while True:
            if not node.alive:
                raise RuntimeError(f"the cluster node on :{port} exited: {log.read_text().strip()[-300:]}")
            try:
                if not admin.ping():
                    raise redis.ConnectionError("no PONG")
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        admin.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        while "cluster_state:ok" not in admin.execute_command("CLUSTER", "INFO").decode():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster node on :{port} never reported cluster_state:ok")
            time.sleep(0.05)
    except BaseException:
        node.stop()
        raise
    finally:
        admin.close()
    return node


@pytest.fixture
def one_node_cluster(tmp_path: Path) -> Iterator[str]:
    (port,) = free_cluster_ports(1)
    node = start_one_node_cluster(port, tmp_path)
    try:
        yield f"redis://127.0.0.1:{port}"
    finally:
        node.stop()


def test_a_node_that_cannot_start_fails_at_once_instead_of_stalling(tmp_path: Path) -> None:
    """A port above 55535 leaves no room for the cluster bus: redis-server exits. Picked at
    random from the ephemeral range it did so about one run in five, and the fixture's
    retried pings outlasted the test timeout."""
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="too high"):
        start_one_node_cluster(60001, tmp_path)
    assert time.monotonic() - started < 10.0


def test_cluster_ports_leave_room_for_the_cluster_bus() -> None:
    assert all(port + 10000 <= 65535 for port in free_cluster_ports(50))


async def test_calls_beyond_the_connection_limit_wait_their_turn_instead_of_failing(one_node_cluster: str) -> None:
    client = connect(one_node_cluster, cluster=True, max_connections=4, pool_wait_s=5.0, timeout_s=2.0)
    try:
        # Each BLPOP holds its connection for 0.2 s: 40 of them need ten turns of four.
        answers = await asyncio.gather(*(client.blpop([f"nothing:{{s}}:{i}"], timeout=0.2) for i in range(40)))
    finally:
        await close(client)
    assert answers == [None] * 40


async def test_a_write_on_a_connection_a_failover_closed_is_a_lost_connection_not_a_crash(
    one_node_cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvloop's RuntimeError for a closed transport (seen once in the failover test as a 500)
    reaches the caller as redis' ConnectionError, which the API answers 503 + Retry-After."""
    client = connect(one_node_cluster, cluster=True, max_connections=4, pool_wait_s=1.0, timeout_s=2.0)

    async def closed_under_us(self: object, *args: object, **kwargs: object) -> object:
        raise RuntimeError("unable to perform operation on <TCPTransport closed=True>; the handler is closed")

    try:
        monkeypatch.setattr(RedisCluster, "execute_command", closed_under_us)
        with pytest.raises(redis.ConnectionError):
            await client.get("k:{s}")
        monkeypatch.undo()
        assert await client.get("k:{s}") is None  # the turn was given back
    finally:
        await close(client)


async def test_every_lua_script_stays_within_one_slot_on_a_cluster(
    one_node_cluster: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every script the app has, called the way its adapters call it, on a real cluster node:
    Redis refuses (CROSSSLOT, or "keys that do not hash to the same slot" for a key a script
    builds itself) any call whose keys span slots, even when one node holds every slot."""
    cluster_settings = settings.model_copy(update={"redis_cluster": True, "redis_url": one_node_cluster})
    async with open_resources(cluster_settings) as res:
        names = {getattr(res.scripts, name).sha: name for name in res.scripts.__dataclass_fields__}
        ran: set[str] = set()
        evalsha = res.redis.evalsha

        async def recorded(sha: str, *args: Any) -> Any:
            ran.add(names[sha])
            return await evalsha(sha, *args)

        monkeypatch.setattr(res.redis, "evalsha", recorded)
        schedule = await make_schedule(res, capacity=5, rows=1, cols=5)
        sid, room, locks = schedule.id, res.waiting_room, res.seat_locks
        assert isinstance(await room.enter(schedule, UserId("buyer")), Waiting)
        await room.enter(schedule, UserId("walker"))
        assert await room.leave(sid, UserId("walker"))
        assert (await room.advance(sid, schedule.queue)).admitted == 1
        await pace_passes(res, sid)
        assert isinstance(await room.status(schedule, UserId("buyer")), Admitted)
        assert await room.pass_expiry(sid, UserId("buyer")) is not None
        seats = [SeatNo("A-1"), SeatNo("A-2")]
        await locks.acquire(sid, UserId("buyer"), "hold-1", seats[:1], 60_000, 4)
        await locks.extend(sid, UserId("buyer"), "hold-1", seats[:1], 90_000)
        assert await locks.release(sid, UserId("buyer"), "hold-1", seats[:1]) == 1
        await locks.acquire(sid, UserId("buyer"), "hold-2", seats, 60_000, 4)
        assert await locks.sell(sid, UserId("buyer"), "hold-2", seats) == 2
        assert await locks.mark_sold(sid, [SeatNo("A-3")]) == 1
        await locks.restore(sid, [SeatEntry(SeatNo("A-4"), Want.FREE)], [], rebuild=False, seat_count=5)
        assert await res.rate_limiter.hit(Action.PAYMENT, "buyer") == 0
        assert (await res.audit_live.live_state(sid)).seat_states["A-1"] == "SOLD"
        assert await res.live_state.release(sid) > 0
    assert ran == set(names.values())


async def test_the_relays_wake_signal_waits_on_a_fresh_cluster_client_instead_of_failing_at_once(
    one_node_cluster: str,
) -> None:
    """A relay's first Redis call is its subscription. On a cluster client nothing had
    discovered the nodes yet, the subscription failed at once, and so did every wait after
    it: the relay polled the outbox hundreds of times a second (two relays held most of a
    core of an idle `make cluster`). Waiting must wait, and a signal must wake it."""
    waiter = connect(one_node_cluster, cluster=True, max_connections=4, pool_wait_s=5.0, timeout_s=2.0)
    sender = connect(one_node_cluster, cluster=True, max_connections=4, pool_wait_s=5.0, timeout_s=2.0)
    signal, notifier = RedisOutboxSignal(waiter, Keys("wake:")), RedisOutboxSignal(sender, Keys("wake:"))
    try:
        started = time.monotonic()
        assert not await signal.wait(0.5)
        assert time.monotonic() - started >= 0.45
        woken = asyncio.create_task(signal.wait(5.0))
        await asyncio.sleep(0.2)
        await notifier.notify()
        assert await asyncio.wait_for(woken, 2.0)
    finally:
        await signal.close()
        await close(waiter)
        await close(sender)
