"""The cluster client under a stampede: more calls in flight than its connections.

redis-py's asyncio cluster client fails a call at once (MaxConnectionsError) when a node's
connections are all busy, where the single-node client's blocking pool waits its turn. The
cluster bench saw 22,048 status polls answered 503 so, with Redis idle enough to answer them.
A real one-node Redis Cluster (every slot on one private redis-server) shows it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import RedisCluster

from ticketing.adapters.redis.client import close, connect
from ticketing.devtools.broker import free_port
from ticketing.devtools.processes import ChildProcess


@pytest.fixture
def one_node_cluster(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path)]
    argv += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--save", "", "--appendonly", "no"]
    node = ChildProcess.spawn("redis-cluster-node", argv, tmp_path / "redis.log")
    try:
        admin = redis.Redis(port=port)
        for _ in range(100):
            try:
                admin.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        admin.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        for _ in range(100):
            if admin.execute_command("CLUSTER", "INFO").decode().find("cluster_state:ok") >= 0:
                break
            time.sleep(0.05)
        admin.close()
        yield f"redis://127.0.0.1:{port}"
    finally:
        node.stop()


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
