"""Seat locks on Redis: all-or-nothing holds, owner-checked release, and the SOLD mark."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from redis.asyncio import Redis

from ticketing.adapters.redis.keys import Keys
from ticketing.adapters.redis.replies import ms_to_datetime, text
from ticketing.adapters.redis.scripts import Scripts
from ticketing.domain.errors import PassExpired, SeatTaken, TooManySeats
from ticketing.domain.ids import ScheduleId, SeatNo, UserId


def user_hold_member(hold_id: str, seat_count: int) -> str:
    return f"{seat_count}|{hold_id}"


class RedisSeatLocks:
    def __init__(self, redis: Redis, keys: Keys, scripts: Scripts) -> None:
        self._redis = redis
        self._keys = keys
        self._scripts = scripts

    async def acquire(
        self,
        schedule_id: ScheduleId,
        user: UserId,
        hold_id: str,
        seat_nos: Sequence[SeatNo],
        ttl_ms: int,
        max_seats_per_user: int,
    ) -> tuple[datetime, datetime]:
        """Lock all seats or none; returns (pass expiry, hold expiry) by the Redis clock.

        Raises PassExpired (no live pass), TooManySeats, SeatTaken (naming the seats).
        """
        k = self._keys
        keys = [
            k.passes(schedule_id),
            k.user_holds(schedule_id, user),
            k.seat_state(schedule_id),
            k.seat_events(schedule_id),
            *(k.seat_lock(schedule_id, s) for s in seat_nos),
        ]
        reply = await self._scripts.hold(keys=keys, args=[user, hold_id, ttl_ms, max_seats_per_user, *seat_nos])
        kind = int(reply[0])
        if kind == 1:
            return ms_to_datetime(int(reply[1])), ms_to_datetime(int(reply[2]))
        if kind == 0:
            taken = [text(s) for s in reply[1:]]
            raise SeatTaken(f"taken: {', '.join(taken[:10])}", seat_nos=taken)
        if kind == -1:
            raise PassExpired()
        have = int(reply[1])
        raise TooManySeats(
            f"you already have {have} seats; the limit is {max_seats_per_user}",
            limit=max_seats_per_user,
            already_held=have,
        )

    async def release(self, schedule_id: ScheduleId, user: UserId, hold_id: str, seat_nos: Sequence[SeatNo]) -> int:
        """Free what this hold still owns; idempotent. Returns the seats made AVAILABLE."""
        k = self._keys
        keys = [
            k.user_holds(schedule_id, user),
            k.seat_state(schedule_id),
            k.seat_events(schedule_id),
            *(k.seat_lock(schedule_id, s) for s in seat_nos),
        ]
        args = [hold_id, user_hold_member(hold_id, len(seat_nos)), *seat_nos]
        return int(await self._scripts.release(keys=keys, args=args))

    async def extend(
        self, schedule_id: ScheduleId, user: UserId, hold_id: str, seat_nos: Sequence[SeatNo], ttl_ms: int
    ) -> datetime:
        """Keep the hold's locks for at least ``ttl_ms`` more (re-taking lapsed ones nobody
        else took); returns the new lock expiry. Raises SeatTaken if another hold has a seat."""
        k = self._keys
        keys = [
            k.user_holds(schedule_id, user),
            k.seat_state(schedule_id),
            k.seat_events(schedule_id),
            *(k.seat_lock(schedule_id, s) for s in seat_nos),
        ]
        args: list[str | int] = [hold_id, user_hold_member(hold_id, len(seat_nos)), ttl_ms, *seat_nos]
        reply = await self._scripts.extend(keys=keys, args=args)
        if int(reply[0]) == 1:
            return ms_to_datetime(int(reply[1]))
        taken = [text(s) for s in reply[1:]]
        raise SeatTaken(f"taken: {', '.join(taken[:10])}", seat_nos=taken)

    async def sell(self, schedule_id: ScheduleId, user: UserId, hold_id: str, seat_nos: Sequence[SeatNo]) -> int:
        """Show confirmed seats SOLD and give back the user's pass; idempotent."""
        k = self._keys
        keys = [
            k.user_holds(schedule_id, user),
            k.seat_state(schedule_id),
            k.seat_events(schedule_id),
            k.passes(schedule_id),
            *(k.seat_lock(schedule_id, s) for s in seat_nos),
        ]
        args = [hold_id, user_hold_member(hold_id, len(seat_nos)), user, *seat_nos]
        return int(await self._scripts.sell(keys=keys, args=args))

    async def mark_sold(self, schedule_id: ScheduleId, seat_nos: Sequence[SeatNo]) -> int:
        """Show seats SOLD that the database guard says are sold."""
        if not seat_nos:
            return 0
        keys = [self._keys.seat_state(schedule_id), self._keys.seat_events(schedule_id)]
        return int(await self._scripts.mark_sold(keys=keys, args=list(seat_nos)))
