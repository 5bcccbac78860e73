"""Abandoned hold ids are voided once the seat-lock store answers again, and not forever."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ticketing.domain.ids import ScheduleId, SeatNo, UserId
from ticketing.services.abandoned_holds import AbandonedHolds


class FlakyLocks:
    """Fails the first ``failures`` void calls as an unreachable Redis would."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.voided: list[tuple[str, int]] = []

    async def void(
        self, schedule_id: ScheduleId, user: UserId, hold_id: str, seat_nos: Sequence[SeatNo], void_ms: int
    ) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise TimeoutError("Redis did not answer")
        self.voided.append((hold_id, void_ms))
        return len(seat_nos)


async def settle(abandoned: AbandonedHolds, within_s: float = 2.0) -> None:
    for _ in range(int(within_s / 0.01)):
        if abandoned.pending == 0:
            return
        await asyncio.sleep(0.01)


async def test_the_void_is_retried_until_redis_answers() -> None:
    locks = FlakyLocks(failures=3)
    abandoned = AbandonedHolds(locks, first_retry_s=0.01, max_retry_s=0.02)  # type: ignore[arg-type]
    abandoned.abandon(ScheduleId(1), UserId("u"), "h_1", [SeatNo("A-1")], ttl_ms=60_000)
    await settle(abandoned)
    assert (locks.calls, locks.voided) == (4, [("h_1", 60_000)])


async def test_retrying_stops_once_the_locks_would_have_lapsed_anyway() -> None:
    locks = FlakyLocks(failures=10_000)
    abandoned = AbandonedHolds(locks, first_retry_s=0.01, max_retry_s=0.01)  # type: ignore[arg-type]
    abandoned.abandon(ScheduleId(1), UserId("u"), "h_1", [SeatNo("A-1")], ttl_ms=100)
    await settle(abandoned)
    assert abandoned.pending == 0
    assert locks.voided == []
    assert 2 <= locks.calls <= 15


async def test_pending_voids_are_bounded_and_cancelled_on_close() -> None:
    locks = FlakyLocks(failures=10_000)
    abandoned = AbandonedHolds(locks, max_pending=2, first_retry_s=1.0)  # type: ignore[arg-type]
    for n in range(5):
        abandoned.abandon(ScheduleId(1), UserId("u"), f"h_{n}", [SeatNo("A-1")], ttl_ms=60_000)
    assert abandoned.pending == 2
    await abandoned.close()
    assert abandoned.pending == 0


async def test_settle_tries_the_buyers_pending_voids_at_once_and_waits_for_them() -> None:
    locks = FlakyLocks(failures=1)
    abandoned = AbandonedHolds(locks, first_retry_s=60.0, settle_within_s=1.0)  # type: ignore[arg-type]
    abandoned.abandon(ScheduleId(1), UserId("u"), "h_1", [SeatNo("A-1")], ttl_ms=600_000)
    await asyncio.sleep(0)  # the first attempt fails; the next would be a minute away
    assert locks.calls == 1
    await abandoned.settle(ScheduleId(1), UserId("other"))  # not theirs: nothing to try
    await abandoned.settle(ScheduleId(2), UserId("u"))
    assert (locks.calls, abandoned.pending) == (1, 1)
    await asyncio.wait_for(abandoned.settle(ScheduleId(1), UserId("u")), timeout=0.5)
    assert (locks.calls, locks.voided, abandoned.pending) == (2, [("h_1", 600_000)], 0)


async def test_settle_waits_no_longer_than_its_bound_while_redis_stays_silent() -> None:
    locks = FlakyLocks(failures=10_000)
    abandoned = AbandonedHolds(locks, first_retry_s=60.0, settle_within_s=0.05)  # type: ignore[arg-type]
    abandoned.abandon(ScheduleId(1), UserId("u"), "h_1", [SeatNo("A-1")], ttl_ms=600_000)
    await asyncio.sleep(0)
    await asyncio.wait_for(abandoned.settle(ScheduleId(1), UserId("u")), timeout=0.5)
    assert abandoned.pending == 1
    await abandoned.close()
