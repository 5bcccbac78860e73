"""Waiting-room rules: where a buyer stands, how long it may take, how often to ask."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ticketing.domain.catalog import QueuePolicy, Schedule
from ticketing.domain.ids import ScheduleId, UserId

# Polling pace: people at the front ask often so no admission is wasted; people far
# back ask rarely so a million waiters do not become a million requests a second.
MIN_POLL_MS = 1_000
MAX_POLL_MS = 30_000
POLL_JITTER = 0.2  # poll_after_ms scatters +-20 % around its base


class QueueState(StrEnum):
    WAITING = "WAITING"
    ADMITTED = "ADMITTED"
    NOT_IN_QUEUE = "NOT_IN_QUEUE"


@dataclass(frozen=True, slots=True)
class Waiting:
    ticket: int
    ahead: int
    eta_s: int
    poll_after_ms: int

    @property
    def position(self) -> int:
        return self.ahead + 1


@dataclass(frozen=True, slots=True)
class LineProgress:
    """How far a line has been served: every ticket up to ``served`` has been admitted (or
    left), so a waiter holding ticket T has at most T - served - 1 people ahead of it."""

    served: int
    per_s: float
    sold_out: bool = False

    def ahead_of(self, ticket: int) -> int:
        return max(0, ticket - self.served - 1)

    def news(self, schedule: Schedule) -> dict[str, object]:
        """What every waiting page is told of its line (the queue stream's ``admission`` event)."""
        return {
            "served": self.served,
            "per_s": self.per_s,
            "paused": schedule.queue.paused,
            "closed": schedule.sale_closed_at is not None,
            "sold_out": self.sold_out,
        }


@dataclass(frozen=True, slots=True)
class LineOccupancy:
    waiting: int
    live_passes: int
    admitted: int  # every admission so far (the FIFO audit trail's length)


@dataclass(frozen=True, slots=True)
class Admitted:
    pass_expires_at: datetime


@dataclass(frozen=True, slots=True)
class NotInQueue:
    pass


@dataclass(frozen=True, slots=True)
class SoldOut:
    """Every seat is sold: the line is closed (a waiter keeps its place should a seat come back)."""


@dataclass(frozen=True, slots=True)
class AskedTooEarly:
    """Still waiting, and asking again before the pace it was given allows (see PollFloor)."""

    wait_ms: int


QueueStatus = Waiting | Admitted | NotInQueue | SoldOut | AskedTooEarly


def nominal_admission_rate(policy: QueuePolicy) -> float:
    """Admissions per second when every pass runs to its TTL (a floor, used before any measurement)."""
    return policy.capacity / max(policy.pass_ttl_s, 1)


def estimate_wait_s(ahead: int, measured_rate_per_s: float, policy: QueuePolicy) -> int:
    """Seconds until admission: people ahead over the admission rate, rounded up."""
    if ahead <= 0:
        return 0
    rate = measured_rate_per_s if measured_rate_per_s > 0 else nominal_admission_rate(policy)
    return math.ceil(ahead / rate)


def poll_after_ms(eta_s: int, pass_ttl_s: int = 90, spread: float = 0.5) -> int:
    """Ask again after about a third of the expected wait, clamped to [1 s, 30 s] and to a
    third of the pass TTL (an admitted buyer must learn of the pass long before it lapses).

    ``spread`` in [0, 1) scatters the answer over +-20 %, so a crowd told the same ETA does
    not come back in the same second.
    """
    base = min(poll_ceiling_ms(pass_ttl_s), max(MIN_POLL_MS, eta_s * 1000 / 3))
    return int(base * (1 - POLL_JITTER + 2 * POLL_JITTER * spread))


def poll_ceiling_ms(pass_ttl_s: int) -> float:
    """The longest pace: 30 s, and a third of the pass TTL (an admitted buyer must learn of the pass in time)."""
    return min(MAX_POLL_MS, max(MIN_POLL_MS, pass_ttl_s * 1000 / 3))


@dataclass(frozen=True, slots=True)
class PollFloor:
    """The earliest a waiting buyer may ask again: ``poll_after_ms`` with the least jitter.
    The enter and status scripts apply it in Redis (so every API replica shares it) from
    these numbers, computing ``poll_after_ms(eta, ttl, spread=0)`` the same way; a poll
    before it is answered POLL_TOO_EARLY with no fresh work (no rank, no estimate)."""

    lowest_ms: float
    highest_ms: float
    fallback_rate_per_s: float  # the nominal admission rate, before any measurement
    fraction: float

    @classmethod
    def of(cls, policy: QueuePolicy) -> PollFloor:
        return cls(MIN_POLL_MS, poll_ceiling_ms(policy.pass_ttl_s), nominal_admission_rate(policy), 1 - POLL_JITTER)


def waiting(ticket: int, ahead: int, measured_rate_per_s: float, policy: QueuePolicy, spread: float = 0.5) -> Waiting:
    eta = estimate_wait_s(ahead, measured_rate_per_s, policy)
    return Waiting(ticket, ahead, eta, poll_after_ms(eta, policy.pass_ttl_s, spread))


@dataclass(frozen=True, slots=True)
class PassClaims:
    """What a verified pass token says; still needs a live pass in the pass set to count."""

    user: UserId
    schedule_id: ScheduleId


@dataclass(frozen=True, slots=True)
class TickResult:
    """What one admission tick did for one schedule."""

    expired: int
    admitted: int
    waiting: int
    live_passes: int


@dataclass(frozen=True, slots=True)
class RegisteredSchedule:
    """A schedule in the advancers' work list, with what a tick needs to know."""

    schedule_id: ScheduleId
    policy: QueuePolicy
    sale_opens_at: datetime
    starts_at: datetime
