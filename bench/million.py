"""A million waiters: one schedule's line filled to 1,000,000 (times BENCH_SCALE) by a bulk Lua
load, then enter and status latency, the Redis memory per waiting user and the advancer's tick
time, each against the same numbers at 1,000 waiters in the same run.

The load writes what ``enter.lua`` leaves for a waiting user: a ticket from the line's counter
in the queue ZSET and the user's earliest next poll in the user's pace bucket. (A real entry also leaves
a per-user rate-limit STRING that expires within a second; it is not part of the line.) The
schedule's admission is paused while the probes run, so the line stands still; the tick time is
measured with admission resumed for a few seconds, read from the advancer's own histogram
(``ticketing_queue_advance_tick_seconds``: one tick over every registered schedule).

Latency probes are real HTTP calls by users with tokens, a few at a time (the service time,
not a queue in front of it): ``GET queue`` by users placed at the front of the 1,000-line and
in the middle of the million-line, ``POST queue`` by new users joining at the back.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from redis import Redis, RedisCluster

from bench import buyers
from bench.plan import Plan
from bench.scenarios import new_schedule
from bench.stack import Stack
from ticketing.adapters.redis.keys import Keys
from ticketing.domain.ids import ScheduleId

SMALL_LINE = 1000
PROBES = 500  # status and enter calls per size
PROBE_CONCURRENCY = 8
LOAD_CHUNK = 2000  # users per script call: about a millisecond of Redis each
TICK_WINDOW_S = 3.0
ADMIT_PER_TICK = 20

# KEYS[1] queue ZSET  KEYS[2] ticket counter; ARGV: the users, in line order.
BULK_LOAD = """
local n = #ARGV
local first = redis.call('INCRBY', KEYS[2], n) - n
for i = 1, n do
  redis.call('ZADD', KEYS[1], first + i, ARGV[i])
end
return first + n
"""


@dataclass
class Probe:
    """One kind of call at one line size: latencies of the 2xx answers and every status seen."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def pct(self, p: float) -> float | None:
        if len(self.latencies_ms) < 2:
            return None
        cuts = statistics.quantiles(self.latencies_ms, n=100, method="inclusive")
        return cuts[int(p) - 1]

    def to_json(self) -> dict[str, Any]:
        return {"n": len(self.latencies_ms), "p50_ms": self.pct(50), "p99_ms": self.pct(99), "statuses": self.statuses}


@dataclass
class LineSize:
    waiting: int
    enter: Probe
    status: Probe
    tick_ms: float | None  # mean advancer tick over the window
    ticks: int
    admitted_per_s: float

    def to_json(self) -> dict[str, Any]:
        return {
            "waiting": self.waiting,
            "enter": self.enter.to_json(),
            "status": self.status.to_json(),
            "tick_ms": self.tick_ms,
            "ticks": self.ticks,
            "admitted_per_s": self.admitted_per_s,
        }


@dataclass
class MillionRun:
    schedule_id: int
    load_s: float
    loaded: int
    bytes_per_waiter: float  # INFO used_memory growth over the loaded users
    key_bytes_per_waiter: dict[str, float]  # MEMORY USAGE of each line key, per waiter
    sizes: dict[str, LineSize]

    def to_json(self) -> dict[str, Any]:
        return {
            "schedule_id": self.schedule_id,
            "load_s": self.load_s,
            "loaded": self.loaded,
            "bytes_per_waiter": self.bytes_per_waiter,
            "key_bytes_per_waiter": self.key_bytes_per_waiter,
            "sizes": {name: size.to_json() for name, size in self.sizes.items()},
        }


def total_waiters(plan: Plan) -> int:
    return max(SMALL_LINE * 10, int(1_000_000 * plan.scale))


class Line:
    """The schedule's line keys and a loader that appends users to it: tickets in order by a
    script (the line's own counter, as enter.lua takes them), each user's next-poll time in its
    pace bucket (keys.py) by pipelined HSETs, one per bucket and chunk."""

    def __init__(self, stack: Stack, schedule_id: int) -> None:
        # On a Redis Cluster every key of the line is in the schedule's one slot (keys.py).
        self.redis: Redis | RedisCluster = (
            RedisCluster.from_url(stack.redis_url) if stack.redis_cluster else Redis.from_url(stack.redis_url)
        )
        self.keys, self.s = Keys(stack.redis_prefix), ScheduleId(schedule_id)
        self.queue, self.seq = self.keys.queue(self.s), self.keys.queue_seq(self.s)
        self._load = self.redis.register_script(BULK_LOAD)

    def append(self, users: Sequence[str]) -> None:
        now_ms = int(time.time() * 1000)
        for first in range(0, len(users), LOAD_CHUNK):
            chunk = users[first : first + LOAD_CHUNK]
            self._load(keys=[self.queue, self.seq], args=list(chunk))
            buckets: dict[str, list[str | int]] = defaultdict(list)
            for user in chunk:
                buckets[self.keys.queue_pace(self.s, user)] += [user, now_ms]
            with self.redis.pipeline(transaction=False) as pipe:
                for key, fields in buckets.items():
                    pipe.hset(key, items=fields)
                pipe.execute()

    def used_memory(self) -> int:
        """Of the Redis node that holds the line (on a cluster, the master of its slot)."""
        if isinstance(self.redis, RedisCluster):
            node = self.redis.get_node_from_key(self.queue)  # type: ignore[no-untyped-call]
            return int(self.redis.info("memory", target_nodes=node)["used_memory"])
        return int(self.redis.info("memory")["used_memory"])

    def pace_buckets(self) -> list[bytes]:
        return list(self.redis.scan_iter(match=self.keys.queue_pace_buckets(self.s), count=5000))

    def key_bytes(self) -> dict[str, int]:
        """MEMORY USAGE of the queue ZSET, and of every pace bucket summed."""
        with self.redis.pipeline(transaction=False) as pipe:
            for key in self.pace_buckets():
                pipe.memory_usage(key, samples=0)
            pace = sum(int(n or 0) for n in pipe.execute())
        return {"queue ZSET": int(self.redis.memory_usage(self.queue, samples=0) or 0), "pace HASH buckets": pace}

    def waiting(self) -> int:
        return int(self.redis.zcard(self.queue))

    def drop(self) -> None:
        """The big keys go at once (UNLINK frees them off Redis' main thread)."""
        self.redis.unlink(self.queue, *self.pace_buckets())
        self.redis.close()


def placed(probes: Sequence[str], fillers: int, prefix: str, at: int) -> list[str]:
    """``fillers`` filler users with ``probes`` inserted in a run starting at index ``at``."""
    users = [f"{prefix}{i}" for i in range(fillers)]
    return users[:at] + list(probes) + users[at:]


async def probe(base_url: str, method: str, path: str, tokens: Sequence[str]) -> Probe:
    result = Probe()
    gate = asyncio.Semaphore(PROBE_CONCURRENCY)
    limits = httpx.Limits(max_connections=PROBE_CONCURRENCY, max_keepalive_connections=PROBE_CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0) as http:

        async def one(token: str) -> None:
            async with gate:
                started = time.perf_counter()
                r = await http.request(method, path, headers=buyers.bearer(token))
                elapsed_ms = (time.perf_counter() - started) * 1000
            result.statuses[r.status_code] = result.statuses.get(r.status_code, 0) + 1
            if 200 <= r.status_code < 300:
                result.latencies_ms.append(elapsed_ms)

        await asyncio.gather(*(one(t) for t in tokens))
    return result


TICK_SUM = re.compile(r"^ticketing_queue_advance_tick_seconds_(sum|count) ([0-9.e+-]+)$", re.MULTILINE)


def tick_totals(metrics_urls: Sequence[str]) -> tuple[float, float]:
    """(seconds, ticks) so far from the advancer's histogram, over every copy."""
    seconds = ticks = 0.0
    for url in metrics_urls:
        found = {kind: float(value) for kind, value in TICK_SUM.findall(httpx.get(url, timeout=5.0).text)}
        seconds, ticks = seconds + found.get("sum", 0.0), ticks + found.get("count", 0.0)
    return seconds, ticks


def steer(stack: Stack, admin: str, schedule_id: int, body: dict[str, Any]) -> None:
    path = f"/api/v1/admin/schedules/{schedule_id}/queue"
    buyers.expect(httpx.patch(stack.base_url + path, json=body, headers=buyers.bearer(admin), timeout=30.0), 200)


def measure(
    stack: Stack, admin: str, line: Line, schedule_id: int, status_tokens: Sequence[str], enter_tokens: Sequence[str]
) -> LineSize:
    waiting = line.waiting()
    path = f"/api/v1/schedules/{schedule_id}/queue"
    status = asyncio.run(probe(stack.base_url, "GET", path, status_tokens))
    enter = asyncio.run(probe(stack.base_url, "POST", path, enter_tokens))
    tick_ms, ticks, admitted_per_s = None, 0, 0.0
    metrics_urls = stack.worker_metrics.get("queue-advancer")
    if metrics_urls:
        before, waiting_before = tick_totals(metrics_urls), line.waiting()
        steer(stack, admin, schedule_id, {"paused": False})
        time.sleep(TICK_WINDOW_S)
        steer(stack, admin, schedule_id, {"paused": True})
        after, waiting_after = tick_totals(metrics_urls), line.waiting()
        ticks = int(after[1] - before[1])
        tick_ms = (after[0] - before[0]) / ticks * 1000 if ticks else None
        admitted_per_s = (waiting_before - waiting_after) / TICK_WINDOW_S
    return LineSize(waiting, enter, status, tick_ms, ticks, admitted_per_s)


def run(stack: Stack, plan: Plan, admin: str, schedules: dict[str, int], log: Any) -> MillionRun:
    schedules["million"] = sid = new_schedule(stack, admin, "bench million", plan.million_schedule(ADMIT_PER_TICK))
    steer(stack, admin, sid, {"paused": True})
    status_tokens = stack.tokens(2 * PROBES, "mw").read_text().split()
    enter_tokens = stack.tokens(2 * PROBES, "me").read_text().split()
    status_users = [f"mw{i + 1}" for i in range(2 * PROBES)]
    line = Line(stack, sid)
    try:
        sizes: dict[str, LineSize] = {}
        # The small line: the first status probes at its front, fillers behind them.
        line.append(placed(status_users[:PROBES], SMALL_LINE - PROBES, "mf-", 0))
        log(
            f"  {line.waiting():,} waiting: {PROBES} status and {PROBES} enter probes, "
            f"then {TICK_WINDOW_S:.0f} s of ticks"
        )
        sizes["small"] = measure(stack, admin, line, sid, status_tokens[:PROBES], enter_tokens[:PROBES])

        total = total_waiters(plan)
        added = total - line.waiting()
        memory_before = line.used_memory()
        started = time.monotonic()
        line.append(placed(status_users[PROBES:], added - PROBES, "mg-", added // 2))
        load_s = time.monotonic() - started
        bytes_per_waiter = (line.used_memory() - memory_before) / added
        waiting = line.waiting()
        key_bytes = {name: used / waiting for name, used in line.key_bytes().items()}
        log(f"  loaded {added:,} in {load_s:.1f} s: {bytes_per_waiter:.0f} bytes per waiter (used_memory growth)")
        log(f"  {waiting:,} waiting: the same probes, the status ones in the middle of the line")
        sizes["large"] = measure(stack, admin, line, sid, status_tokens[PROBES:], enter_tokens[PROBES:])
        return MillionRun(sid, load_s, added, bytes_per_waiter, key_bytes, sizes)
    finally:
        line.drop()
