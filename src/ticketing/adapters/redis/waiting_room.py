"""The waiting room on Redis: one Lua round trip per enter, status, leave or tick."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ticketing.adapters.redis.client import RedisClient
from ticketing.adapters.redis.keys import Keys
from ticketing.adapters.redis.rate_limits import RateArgs
from ticketing.adapters.redis.replies import integer, ms_to_datetime, text
from ticketing.adapters.redis.scripts import Script, Scripts
from ticketing.domain.catalog import QueuePolicy, Schedule
from ticketing.domain.ids import ScheduleId, UserId
from ticketing.domain.rate_limits import Action, identity, over_limit
from ticketing.domain.waiting_room import (
    Admitted,
    AskedTooEarly,
    LineOccupancy,
    LineProgress,
    NotInQueue,
    PollFloor,
    QueueStatus,
    RegisteredSchedule,
    SoldOut,
    TickResult,
    waiting,
)


def status_from_reply(reply: Sequence[Any], policy: QueuePolicy, action: Action = Action.STATUS) -> QueueStatus:
    """Turn an enter/status script reply into a domain status (pure; see the scripts' headers)."""
    kind = integer(reply[0])
    if kind == 1:
        return Admitted(pass_expires_at=ms_to_datetime(integer(reply[1])))
    if kind == 0:
        rate = float(text(reply[3])) if len(reply) > 3 else 0.0
        # Non-cryptographic jitter for the poll pace (see domain poll_after_ms).
        spread = random.random()
        return waiting(integer(reply[1]), integer(reply[2]), rate, policy, spread)
    if kind == -2:
        return AskedTooEarly(integer(reply[1]))
    if kind == -3:
        raise over_limit(action, integer(reply[1]))
    if kind == -4:
        return SoldOut()
    return NotInQueue()


def pace_args(policy: QueuePolicy) -> list[float]:
    """ARGV[2..5] of the enter and status scripts (lua/lib/pace.lua)."""
    floor = PollFloor.of(policy)
    return [floor.lowest_ms, floor.highest_ms, floor.fallback_rate_per_s, floor.fraction]


class RedisWaitingRoom:
    def __init__(self, redis: RedisClient, keys: Keys, scripts: Scripts, rates: RateArgs) -> None:
        self._redis = redis
        self._keys = keys
        self._scripts = scripts
        self._rates = rates

    async def enter(self, schedule: Schedule, user: UserId) -> QueueStatus:
        return await self._ask(self._scripts.enter, Action.ENTER, schedule, user)

    async def status(self, schedule: Schedule, user: UserId) -> QueueStatus:
        return await self._ask(self._scripts.status, Action.STATUS, schedule, user)

    async def _ask(self, script: Script, action: Action, schedule: Schedule, user: UserId) -> QueueStatus:
        """enter.lua or status.lua: the same keys and arguments (see their headers)."""
        k, s = self._keys, schedule.id
        reply = await script(
            keys=[
                k.queue(s),
                k.queue_seq(s),
                k.passes(s),
                k.queue_rate(s),
                k.queue_pace(s, user),
                k.rate(action, identity(user, ""), s),
                k.seats_sold(s),
                k.seat_count(s),
            ],
            args=[user, *pace_args(schedule.queue), *self._rates(action)],
        )
        return status_from_reply(reply, schedule.queue, action)

    async def leave(self, schedule_id: ScheduleId, user: UserId) -> bool:
        k = self._keys
        reply = await self._scripts.leave(
            keys=[k.queue(schedule_id), k.passes(schedule_id), k.queue_pace(schedule_id, user)], args=[user]
        )
        return any(integer(x) for x in reply)

    async def pass_expiry(self, schedule_id: ScheduleId, user: UserId) -> datetime | None:
        """Expiry of the user's live pass by the Redis clock, or None."""
        expiry = integer(await self._scripts.pass_alive(keys=[self._keys.passes(schedule_id)], args=[user]))
        return ms_to_datetime(expiry) if expiry else None

    async def advance(self, schedule_id: ScheduleId, policy: QueuePolicy) -> TickResult:
        k = self._keys
        reply = await self._scripts.advance(
            keys=[
                k.queue(schedule_id),
                k.passes(schedule_id),
                k.queue_rate(schedule_id),
                k.admissions(schedule_id),
                k.queue_events(schedule_id),
                k.seats_sold(schedule_id),
                k.seat_count(schedule_id),
                k.queue_sold_out(schedule_id),
            ],
            args=[policy.capacity, policy.pass_ttl_s * 1000, policy.admit_per_tick],
        )
        return TickResult(*(integer(x) for x in reply))

    async def line(self, schedule_id: ScheduleId) -> LineProgress:
        """How far the line has been served: the last ticket admitted, and the admission rate."""
        k = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:  # one slot, one round trip; no MULTI on a cluster
            pipe.lindex(k.admissions(schedule_id), -1)
            pipe.hget(k.queue_rate(schedule_id), "per_s")
            pipe.exists(k.queue_sold_out(schedule_id))
            served, per_s, sold_out = await pipe.execute()
        return LineProgress(int(served or 0), float(per_s or 0), bool(sold_out))

    async def occupancy(self, schedule_id: ScheduleId) -> LineOccupancy:
        k = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(k.queue(schedule_id))
            pipe.zcard(k.passes(schedule_id))
            pipe.llen(k.admissions(schedule_id))
            waiting, passes, admitted = await pipe.execute()
        return LineOccupancy(int(waiting), int(passes), int(admitted))

    async def announce(self, schedule: Schedule) -> None:
        """Tell every waiting page of the sale's state now (paused, closed), with the line's number."""
        line = await self.line(schedule.id)
        message = line.news(schedule)
        await self._redis.publish(self._keys.queue_events(schedule.id), json.dumps(message, separators=(",", ":")))

    async def withdraw_passes(self, schedule_id: ScheduleId) -> int:
        """Every live pass of the schedule ends now (no new hold); returns how many there were."""
        passes = self._keys.passes(schedule_id)
        count = int(await self._redis.zcard(passes))
        await self._redis.delete(passes)
        return count

    async def waiting_count(self, schedule_id: ScheduleId) -> int:
        return int(await self._redis.zcard(self._keys.queue(schedule_id)))

    async def live_pass_count(self, schedule_id: ScheduleId) -> int:
        return int(await self._redis.zcard(self._keys.passes(schedule_id)))

    # The registry: which schedules the advancers work on (never a SCAN of the keyspace).

    async def register(self, schedule: Schedule) -> None:
        entry = {
            "capacity": schedule.queue.capacity,
            "pass_ttl_s": schedule.queue.pass_ttl_s,
            "admit_per_tick": schedule.queue.admit_per_tick,
            "paused": schedule.queue.paused,
            "sale_opens_at": schedule.sale_opens_at.isoformat(),
            "starts_at": schedule.starts_at.isoformat(),
        }
        await self._redis.hset(self._keys.registry(), str(schedule.id), json.dumps(entry))

    async def unregister(self, schedule_id: ScheduleId) -> None:
        await self._redis.hdel(self._keys.registry(), str(schedule_id))

    async def registered(self) -> list[RegisteredSchedule]:
        raw = await self._redis.hgetall(self._keys.registry())
        out = []
        for key, value in raw.items():
            entry = json.loads(value)
            out.append(
                RegisteredSchedule(
                    schedule_id=ScheduleId(integer(key)),
                    policy=QueuePolicy(
                        entry["capacity"], entry["pass_ttl_s"], entry["admit_per_tick"], entry.get("paused", False)
                    ),
                    sale_opens_at=datetime.fromisoformat(entry["sale_opens_at"]),
                    starts_at=datetime.fromisoformat(entry["starts_at"]),
                )
            )
        return sorted(out, key=lambda r: r.schedule_id)
