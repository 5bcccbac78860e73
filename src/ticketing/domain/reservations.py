"""Reservation states and the moves between them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ticketing.domain.ids import ScheduleId, SeatNo, UserId


@dataclass(frozen=True, slots=True)
class StateCount:
    """How many reservation rows (seats) of a schedule are in one state, and of how many holds."""

    seats: int
    holds: int


class ReservationStatus(StrEnum):
    HELD = "HELD"
    PAYMENT_PENDING = "PAYMENT_PENDING"
    CONFIRMED = "CONFIRMED"
    EXPIRED = "EXPIRED"
    RELEASED = "RELEASED"
    REFUND_PENDING = "REFUND_PENDING"
    REFUNDED = "REFUNDED"


S = ReservationStatus

# A payment may land after the hold expired or was released; it still gets its
# chance at the guard, so PAYMENT_PENDING is reachable from those states too.
TRANSITIONS: dict[ReservationStatus, frozenset[ReservationStatus]] = {
    S.HELD: frozenset({S.PAYMENT_PENDING, S.EXPIRED, S.RELEASED}),
    S.EXPIRED: frozenset({S.PAYMENT_PENDING}),
    S.RELEASED: frozenset({S.PAYMENT_PENDING}),
    S.PAYMENT_PENDING: frozenset({S.CONFIRMED, S.REFUND_PENDING}),
    S.REFUND_PENDING: frozenset({S.REFUNDED}),
    S.CONFIRMED: frozenset(),
    S.REFUNDED: frozenset(),
}


def sources_of(target: ReservationStatus) -> tuple[ReservationStatus, ...]:
    """Every state from which ``target`` may be reached (for guarded UPDATE ... WHERE status IN)."""
    return tuple(sorted(s for s, targets in TRANSITIONS.items() if target in targets))


@dataclass(frozen=True, slots=True)
class Reservation:
    id: int
    schedule_id: ScheduleId
    seat_no: SeatNo
    user_id: UserId
    hold_id: str
    status: ReservationStatus
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class HoldRecord:
    """All reservation rows of one hold, as the database has them."""

    hold_id: str
    schedule_id: ScheduleId
    user_id: UserId
    reservations: tuple[Reservation, ...]

    @property
    def seat_nos(self) -> tuple[SeatNo, ...]:
        return tuple(sorted(r.seat_no for r in self.reservations))

    @property
    def statuses(self) -> frozenset[ReservationStatus]:
        return frozenset(r.status for r in self.reservations)

    @property
    def expires_at(self) -> datetime:
        return min(r.expires_at for r in self.reservations)

    def is_live_hold(self, now: datetime) -> bool:
        """Still HELD and not past its expiry: it may be paid for."""
        return self.statuses == {ReservationStatus.HELD} and now < self.expires_at


class ConfirmOutcome(StrEnum):
    CONFIRMED = "CONFIRMED"
    REFUND_REQUESTED = "REFUND_REQUESTED"  # another reservation owns a seat, or keeps it (a late payment)
    DUPLICATE = "DUPLICATE"  # this message was already processed
    NOTHING_PENDING = "NOTHING_PENDING"  # no PAYMENT_PENDING rows (already settled)


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    outcome: ConfirmOutcome
    hold: HoldRecord | None
    sold_elsewhere: tuple[SeatNo, ...] = ()  # seats the guard says another reservation owns
