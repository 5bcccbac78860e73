"""Seat locks on Redis: all-or-nothing holds, owner-checked release, and the SOLD mark."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ticketing.adapters.redis.client import RedisClient
from ticketing.adapters.redis.keys import Keys
from ticketing.adapters.redis.rate_limits import RateArgs
from ticketing.adapters.redis.replies import ms_to_datetime, text
from ticketing.adapters.redis.scripts import Scripts
from ticketing.domain.errors import PassExpired, SeatMapRebuilding, SeatTaken, TooManySeats
from ticketing.domain.ids import ScheduleId, SeatNo, UserId
from ticketing.domain.rate_limits import Action, identity, over_limit
from ticketing.domain.seat_state import LockSeen, SeatEntry, UserCount, hold_member


class RedisSeatLocks:
    def __init__(self, redis: RedisClient, keys: Keys, scripts: Scripts, rates: RateArgs) -> None:
        self._redis = redis
        self._keys = keys
        self._scripts = scripts
        self._rates = rates

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

        Raises RateLimited (this user's holds over their limit: checked first, nothing done),
        PassExpired (no live pass), TooManySeats, SeatTaken (naming the seats),
        SeatMapRebuilding (Redis lost the seat state; the reconciler is rebuilding it).
        """
        k = self._keys
        keys = [
            k.passes(schedule_id),
            k.user_holds(schedule_id, user),
            k.seat_state(schedule_id),
            k.seat_events(schedule_id),
            k.seat_intact(schedule_id),
            k.hold_void(schedule_id, hold_id),
            k.rate(Action.HOLD, identity(user, ""), schedule_id),
            *(k.seat_lock(schedule_id, s) for s in seat_nos),
        ]
        args: list[str | float] = [user, hold_id, ttl_ms, max_seats_per_user, *self._rates(Action.HOLD), *seat_nos]
        reply = await self._scripts.hold(keys=keys, args=args)
        kind = int(reply[0])
        if kind == 1:
            return ms_to_datetime(int(reply[1])), ms_to_datetime(int(reply[2]))
        if kind == 0:
            taken = [text(s) for s in reply[1:]]
            raise SeatTaken(f"taken: {', '.join(taken[:10])}", seat_nos=taken)
        if kind == -1:
            raise PassExpired()
        if kind == -3:
            raise SeatMapRebuilding()
        if kind == -5:
            raise over_limit(Action.HOLD, int(reply[1]))
        if kind == -4:  # only a request that already gave up can get here, so no one reads it
            raise RuntimeError(f"hold {hold_id} was voided before its locks were taken")
        have = int(reply[1])
        raise TooManySeats(
            f"you already have {have} seats; the limit is {max_seats_per_user}",
            limit=max_seats_per_user,
            already_held=have,
        )

    async def release(self, schedule_id: ScheduleId, user: UserId, hold_id: str, seat_nos: Sequence[SeatNo]) -> int:
        """Free what this hold still owns; idempotent. Returns the seats made AVAILABLE."""
        return await self._release(schedule_id, user, hold_id, seat_nos, 0)

    async def void(
        self, schedule_id: ScheduleId, user: UserId, hold_id: str, seat_nos: Sequence[SeatNo], void_ms: int
    ) -> int:
        """Release, and for ``void_ms`` let no lock script for this hold id take a seat: for
        an acquire that may still run after its caller stopped waiting."""
        return await self._release(schedule_id, user, hold_id, seat_nos, void_ms)

    async def _release(
        self, schedule_id: ScheduleId, user: UserId, hold_id: str, seat_nos: Sequence[SeatNo], void_ms: int
    ) -> int:
        k = self._keys
        keys = [
            k.user_holds(schedule_id, user),
            k.seat_state(schedule_id),
            k.seat_events(schedule_id),
            k.hold_void(schedule_id, hold_id),
            *(k.seat_lock(schedule_id, s) for s in seat_nos),
        ]
        args: list[str | int] = [hold_id, hold_member(hold_id, len(seat_nos)), void_ms, *seat_nos]
        return int(await self._scripts.release(keys=keys, args=args))

    async def extend(
        self, schedule_id: ScheduleId, user: UserId, hold_id: str, seat_nos: Sequence[SeatNo], ttl_ms: int
    ) -> datetime:
        """Keep the hold's locks for at least ``ttl_ms`` more (re-taking lapsed ones nobody
        else took); returns the new lock expiry. Raises SeatTaken if another hold has a seat,
        SeatMapRebuilding if Redis lost the seat state."""
        k = self._keys
        keys = [
            k.user_holds(schedule_id, user),
            k.seat_state(schedule_id),
            k.seat_events(schedule_id),
            k.seat_intact(schedule_id),
            *(k.seat_lock(schedule_id, s) for s in seat_nos),
        ]
        args: list[str | int] = [hold_id, hold_member(hold_id, len(seat_nos)), ttl_ms, *seat_nos]
        reply = await self._scripts.extend(keys=keys, args=args)
        if int(reply[0]) == 1:
            return ms_to_datetime(int(reply[1]))
        if int(reply[0]) == -3:
            raise SeatMapRebuilding()
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
            k.seats_sold(schedule_id),
            *(k.seat_lock(schedule_id, s) for s in seat_nos),
        ]
        args = [hold_id, hold_member(hold_id, len(seat_nos)), user, *seat_nos]
        return int(await self._scripts.sell(keys=keys, args=args))

    async def mark_sold(self, schedule_id: ScheduleId, seat_nos: Sequence[SeatNo]) -> int:
        """Show seats SOLD that the database guard says are sold."""
        if not seat_nos:
            return 0
        k = self._keys
        keys = [k.seat_state(schedule_id), k.seat_events(schedule_id), k.seats_sold(schedule_id)]
        return int(await self._scripts.mark_sold(keys=keys, args=list(seat_nos)))

    async def mark_intact(self, schedule_id: ScheduleId, seat_count: int) -> None:
        """A new schedule's seat state is complete as it is (every seat AVAILABLE, none sold)."""
        await self._redis.set(self._keys.seat_count(schedule_id), seat_count)
        await self._redis.set(self._keys.seat_intact(schedule_id), "1")

    async def is_intact(self, schedule_id: ScheduleId) -> bool:
        return bool(await self._redis.exists(self._keys.seat_intact(schedule_id)))

    async def restore(
        self,
        schedule_id: ScheduleId,
        entries: Sequence[SeatEntry],
        users: Sequence[UserCount],
        rebuild: bool,
        seat_count: int,
    ) -> int:
        """Apply the reconciler's plan atomically (see restore.lua); a rebuild also restores
        the per-user counts and marks the seat state intact. Returns seats whose state changed."""
        k = self._keys
        user_keys = sorted({u.user_id for u in users})
        index = {user: i + 1 for i, user in enumerate(user_keys)}
        keys = [
            k.seat_state(schedule_id),
            k.seat_events(schedule_id),
            k.seat_intact(schedule_id),
            *(k.seat_lock(schedule_id, e.seat_no) for e in entries),
            *(k.user_holds(schedule_id, user) for user in user_keys),
            k.seats_sold(schedule_id),
            k.seat_count(schedule_id),
        ]
        args: list[str | int] = ["rebuild" if rebuild else "heal", len(entries), len(users)]
        for e in entries:
            args += [e.seat_no, e.want.value, e.hold_id, e.ttl_ms]
        for u in users:
            args += [index[u.user_id], u.member, "inf" if u.expires_ms is None else u.expires_ms]
        args.append(seat_count)
        return int(await self._scripts.restore(keys=keys, args=args))

    async def locks_seen(self, schedule_id: ScheduleId, seat_nos: Sequence[SeatNo]) -> dict[SeatNo, LockSeen]:
        """The current lock of each seat that has one: owner and milliseconds left."""
        if not seat_nos:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for seat in seat_nos:
            key = self._keys.seat_lock(schedule_id, seat)
            pipe.get(key)
            pipe.pttl(key)
        replies = await pipe.execute()
        seen = {}
        for i, seat in enumerate(seat_nos):
            owner, ttl_ms = replies[2 * i], int(replies[2 * i + 1])
            if owner is not None and ttl_ms > 0:
                seen[seat] = LockSeen(text(owner), ttl_ms)
        return seen
