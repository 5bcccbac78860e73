"""Broker reachability check used by readiness: a real metadata round trip."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaClient


async def broker_reachable(bootstrap_servers: str, timeout_s: float) -> None:
    """Raises if the broker does not answer a metadata request within the timeout."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout_s * 1000))
    try:
        async with asyncio.timeout(timeout_s):
            await client.bootstrap()
    finally:
        await client.close()
