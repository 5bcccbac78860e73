"""The Redis connection: one server, or a Redis Cluster through redis-py's cluster client.

Everything the project does works on both: every multi-key Lua call and every transaction
touches the keys of one schedule only, which share the ``{schedule_id}`` hash tag and so one
cluster slot (``keys.py``); pub/sub messages reach subscribers on every node.
"""

from __future__ import annotations

from typing import TypeAlias

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster

RedisClient: TypeAlias = Redis | RedisCluster


def connect(url: str, cluster: bool, max_connections: int, pool_wait_s: float, timeout_s: float) -> RedisClient:
    """A client for ``url``; with ``cluster``, ``url`` names any one node of the cluster."""
    if cluster:
        # The cluster client keeps a pool per node, found from CLUSTER SLOTS, follows MOVED
        # and ASK redirections, and re-reads the slot map after a failover.
        return RedisCluster.from_url(
            url,
            max_connections=max_connections,
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


async def close(client: RedisClient) -> None:
    """Close the client and every connection of its pool(s)."""
    if isinstance(client, RedisCluster):
        await client.aclose()
    else:
        await client.aclose(close_connection_pool=True)
