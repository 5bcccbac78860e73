"""What one request costs Redis: microseconds of the Redis core per script call, measured.

``python -m bench.redis_cost`` starts a private ``redis-server`` (no persistence) on a free
loopback port, drives the project's own adapters (enter.lua, status.lua, advance.lua,
hold.lua won and lost, release.lua) for one schedule, and reads Redis's own accounting
(``INFO commandstats``: ``usec_per_call`` of EVALSHA, reset between phases), so the figure
is the time the single Redis thread spends per call, whatever the client costs. It prints a
table and a JSON line; docs/scaling.md builds its capacity model on these numbers.

Env: REDIS_COST_USERS (default 20000).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from redis.asyncio import Redis

from ticketing.adapters.redis.keys import Keys
from ticketing.adapters.redis.rate_limits import RateArgs
from ticketing.adapters.redis.scripts import Scripts
from ticketing.adapters.redis.seat_locks import RedisSeatLocks
from ticketing.adapters.redis.waiting_room import RedisWaitingRoom
from ticketing.devtools.broker import free_port
from ticketing.devtools.processes import ChildProcess
from ticketing.domain.catalog import QueuePolicy, Schedule
from ticketing.domain.errors import SeatTaken
from ticketing.domain.ids import EventId, ScheduleId, SeatNo, UserId

CONCURRENCY = 50


async def evalsha_cost(redis: Redis) -> tuple[int, float]:
    """(calls, microseconds per call) of EVALSHA since the last reset."""
    stats = await redis.info("commandstats")
    entry = stats.get("cmdstat_evalsha", {"calls": 0, "usec_per_call": 0.0})
    return int(entry["calls"]), float(entry["usec_per_call"])


async def phase(
    redis: Redis, name: str, calls: list[Callable[[], Awaitable[object]]], results: dict[str, dict[str, float]]
) -> None:
    """Run the coroutine factories ``calls`` CONCURRENCY at a time; record Redis's cost per call."""
    await redis.config_resetstat()
    started = time.perf_counter()
    for i in range(0, len(calls), CONCURRENCY):
        await asyncio.gather(*(c() for c in calls[i : i + CONCURRENCY]), return_exceptions=True)
    wall_s = time.perf_counter() - started
    n, usec = await evalsha_cost(redis)
    results[name] = {"calls": n, "usec_per_call": round(usec, 2), "calls_per_core_s": round(1e6 / usec) if usec else 0}
    print(f"  {name:<28} {n:>8,} calls  {usec:7.2f} us/call  ~{results[name]['calls_per_core_s']:>9,}/s per core"
          f"  (client wall {wall_s:.1f} s)", flush=True)  # fmt: skip


async def measure(port: int, users: int) -> dict[str, dict[str, float]]:
    redis = Redis(host="127.0.0.1", port=port)
    keys, scripts, rates = Keys("cost:"), Scripts.register(redis), RateArgs({})
    room, locks = RedisWaitingRoom(redis, keys, scripts, rates), RedisSeatLocks(redis, keys, scripts, rates)
    now = datetime.now(UTC)
    policy = QueuePolicy(capacity=users, pass_ttl_s=600, admit_per_tick=users)
    schedule = Schedule(ScheduleId(1), EventId(1), now + timedelta(days=1), now - timedelta(hours=1), 600, 4, policy)
    seats = [SeatNo(f"A-{i}") for i in range(1, users // 2 + 1)]
    user_ids = [UserId(f"u{i}") for i in range(users)]
    results: dict[str, dict[str, float]] = {}
    try:
        await scripts.load_all(redis)
        await locks.mark_intact(schedule.id, len(seats))
        await phase(redis, "enter (new waiter)", [partial(room.enter, schedule, u) for u in user_ids], results)
        await phase(redis, "status (waiting)", [partial(room.status, schedule, u) for u in user_ids], results)
        await phase(redis, "advance (admit all)", [partial(room.advance, schedule.id, policy)], results)

        async def hold(u: UserId, seat: SeatNo) -> None:
            with contextlib.suppress(SeatTaken):  # the losers' 409 is the point of that phase
                await locks.acquire(schedule.id, u, f"h-{u}-{seat}", [seat], 600_000, 4)

        winners = list(zip(user_ids[: len(seats)], seats, strict=True))
        await phase(redis, "hold, one seat (won)", [partial(hold, u, s) for u, s in winners], results)
        losers = list(zip(user_ids[len(seats) :], seats, strict=False))
        await phase(redis, "hold, one seat (409 taken)", [partial(hold, u, s) for u, s in losers], results)
        await phase(
            redis,
            "release (one seat)",
            [partial(locks.release, schedule.id, u, f"h-{u}-{s}", [s]) for u, s in winners],
            results,
        )
        memory = await redis.info("memory")
        results["memory"] = {"used_memory_bytes": int(memory["used_memory"])}
    finally:
        await redis.aclose()
    return results


def main() -> int:
    if shutil.which("redis-server") is None:
        print("redis-server is missing (apt-get install redis-server)", file=sys.stderr)
        return 1
    users = int(os.environ.get("REDIS_COST_USERS", "20000"))
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="ticketing-redis-cost-"))
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(root)]
    server = ChildProcess.spawn("redis", argv, root / "redis.log")
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        print(f"Redis cost per script call, {users:,} users on one schedule (private redis-server :{port})")
        results = asyncio.run(measure(port, users))
    finally:
        server.stop(grace_s=5.0)
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps({"users": users, "concurrency": CONCURRENCY, "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
