"""Holds whose lock request gave up waiting for Redis: void them once Redis answers.

A request that timed out (Redis frozen or slow) or was cancelled cannot tell whether its
lock script ran, will run, or never arrived. Left alone, a script that runs late takes
seats for a hold the database never recorded, and the buyer's own retry is refused
SEAT_TAKEN until those locks lapse. So the hold id is voided: released, and marked so that
a late script takes nothing. That has to reach Redis, which has just failed to answer; it
is retried in the background, with backoff, for as long as the locks could live.

The same buyer's next hold request is the one most likely to meet those locks: it first
has this process try the buyer's pending voids at once and waits for them (``settle``), so
the first retry after Redis answers again finds the seats free. A retry that lands on
another API process meets them at most ``max_retry_s`` longer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from ticketing.domain.ids import ScheduleId, SeatNo, UserId
from ticketing.services.ports import SeatLocks

log = structlog.get_logger("ticketing.holds")

Buyer = tuple[ScheduleId, UserId]


@dataclass
class _Void:
    buyer: Buyer
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # set: try again now


class AbandonedHolds:
    """Background voiding of abandoned hold ids, bounded in number; the reconciler's orphan
    sweep is the backstop for any this process could not take on or finish."""

    def __init__(
        self,
        locks: SeatLocks,
        max_pending: int = 10_000,
        first_retry_s: float = 0.2,
        max_retry_s: float = 1.0,
        settle_within_s: float = 2.0,
    ) -> None:
        self._locks = locks
        self._max_pending = max_pending
        self._first_retry_s = first_retry_s
        self._max_retry_s = max_retry_s
        self._settle_within_s = settle_within_s
        self._pending: dict[asyncio.Task[None], _Void] = {}
        self._by_buyer: dict[Buyer, set[asyncio.Task[None]]] = {}

    @property
    def pending(self) -> int:
        return len(self._pending)

    def abandon(
        self, schedule_id: ScheduleId, user: UserId, hold_id: str, seat_nos: Sequence[SeatNo], ttl_ms: int
    ) -> None:
        """Void ``hold_id`` for ``ttl_ms`` (its locks' lifetime), retrying until Redis answers."""
        if len(self._pending) >= self._max_pending:
            log.warning("hold_abandon_skipped", hold_id=hold_id, pending=len(self._pending))
            return
        void = _Void((schedule_id, user))
        task = asyncio.get_running_loop().create_task(self._void(void, hold_id, seat_nos, ttl_ms))
        self._pending[task] = void
        self._by_buyer.setdefault(void.buyer, set()).add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        void = self._pending.pop(task)
        tasks = self._by_buyer[void.buyer]
        tasks.discard(task)
        if not tasks:
            del self._by_buyer[void.buyer]

    async def settle(self, schedule_id: ScheduleId, user: UserId) -> None:
        """Try this buyer's pending voids now and wait for them, at most ``settle_within_s``
        (a Redis still not answering fails them again, and the caller's own call with it)."""
        mine = self._by_buyer.get((schedule_id, user))
        if not mine:
            return
        for task in mine:
            self._pending[task].wake.set()
        await asyncio.wait(set(mine), timeout=self._settle_within_s)

    async def _void(self, void: _Void, hold_id: str, seat_nos: Sequence[SeatNo], ttl_ms: int) -> None:
        schedule_id, user = void.buyer
        give_up_at = time.monotonic() + ttl_ms / 1000
        delay_s = self._first_retry_s
        attempt = 0
        while True:
            attempt += 1
            try:
                freed = await self._locks.void(schedule_id, user, hold_id, seat_nos, ttl_ms)
            except Exception as exc:
                if time.monotonic() + delay_s >= give_up_at:
                    log.warning("hold_abandon_failed", hold_id=hold_id, attempts=attempt, error=type(exc).__name__)
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(void.wake.wait(), delay_s)
                void.wake.clear()
                delay_s = min(self._max_retry_s, delay_s * 2)
                continue
            log.info("hold_abandoned", hold_id=hold_id, attempts=attempt, seats_freed=freed)
            return

    async def close(self) -> None:
        """Stop retrying (shutdown): what is left lapses with its TTL or goes to the reconciler."""
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
