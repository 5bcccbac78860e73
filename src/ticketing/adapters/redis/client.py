"""The Redis connection: one server, or a Redis Cluster through redis-py's cluster client.

Everything the project does works on both: every multi-key Lua call and every transaction
touches the keys of one schedule only, which share the ``{schedule_id}`` hash tag and so one
cluster slot (``keys.py``); pub/sub messages reach subscribers on every node.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeAlias

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError

RedisClient: TypeAlias = Redis | RedisCluster


class QueuedRedisCluster(RedisCluster):
    """redis-py's cluster client, where a call beyond ``max_connections`` in flight waits its
    turn (at most ``pool_wait_s``) instead of failing.

    The cluster client's pools, one per node, raise MaxConnectionsError at once when full,
    where the single-node client's BlockingConnectionPool waits. Under a stampede that turned
    a burst of status polls into 503s from a Redis that was not busy (the cluster bench:
    22,048 of them). A call holds its turn for as long as it holds a connection, so with at
    most ``max_connections`` turns no node's pool can run dry. Pipelines (the reconciler's,
    the dashboard's) take connections without a turn; they are few.
    """

    def __init__(self, *, max_connections: int, pool_wait_s: float, **kwargs: Any) -> None:
        super().__init__(max_connections=max_connections, **kwargs)
        self._turns = asyncio.Semaphore(max_connections)
        self._turn_wait_s = pool_wait_s

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            async with asyncio.timeout(self._turn_wait_s):
                await self._turns.acquire()
        except TimeoutError:
            raise RedisConnectionError("no connection available (every one busy)") from None
        try:
            return await super().execute_command(*args, **kwargs)
        except RuntimeError as exc:
            # uvloop raises RuntimeError ("... the handler is closed") for a write on a
            # connection that a failover just closed; redis-py lets it through as it is. It is
            # a lost connection: a 503 with Retry-After upstream, like any other.
            if "closed" not in str(exc):
                raise
            raise RedisConnectionError(f"connection closed under the call: {exc}") from exc
        finally:
            self._turns.release()


def connect(url: str, cluster: bool, max_connections: int, pool_wait_s: float, timeout_s: float) -> RedisClient:
    """A client for ``url``; with ``cluster``, ``url`` names any one node of the cluster."""
    if cluster:
        # The cluster client keeps a pool per node, found from CLUSTER SLOTS, follows MOVED
        # and ASK redirections, and re-reads the slot map after a failover.
        return QueuedRedisCluster.from_url(
            url,
            max_connections=max_connections,
            pool_wait_s=pool_wait_s,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            driver_info=None,
        )
    # A blocking pool waits for a free connection instead of failing past the limit.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_wait_s,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        # No CLIENT SETINFO: it costs two round trips and a package-metadata read per new
        # connection, which a stampede opening dozens of connections at once pays in full.
        driver_info=None,
    )
    return Redis(connection_pool=pool)


async def pubsub(client: RedisClient) -> PubSub:
    """A pub/sub connection of ``client``. A cluster client finds its nodes on its first
    command; a subscription made before any command would find none (KeyError), so the
    cluster is discovered first (once; later calls return at once)."""
    if isinstance(client, RedisCluster):
        await client.initialize()
    return client.pubsub(ignore_subscribe_messages=True)


async def close(client: RedisClient) -> None:
    """Close the client and every connection of its pool(s)."""
    if isinstance(client, RedisCluster):
        await client.aclose()
    else:
        await client.aclose(close_connection_pool=True)
