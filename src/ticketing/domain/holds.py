"""Seat holds: which seats, for whom, until when; validated before any lock is taken."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ticketing.domain.errors import InvalidInput, TooManySeats, UnknownSeat
from ticketing.domain.ids import ScheduleId, SeatNo, UserId


class SeatStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    HELD = "HELD"
    SOLD = "SOLD"


@dataclass(frozen=True, slots=True)
class Hold:
    hold_id: str
    schedule_id: ScheduleId
    user: UserId
    seat_nos: tuple[SeatNo, ...]
    expires_at: datetime
    pass_expires_at: datetime


def new_hold_id() -> str:
    return "h_" + uuid.uuid4().hex


def hold_id_for(schedule_id: ScheduleId, user: UserId, seat_nos: Sequence[SeatNo], request_key: str | None) -> str:
    """The hold id of one hold request. Without a key, a new one per call; with the
    client's Idempotency-Key, the same one for the same buyer, key and seats, so a retry
    whose first answer was lost (its API process died, its connection broke) is the same
    hold: it takes over the locks the first call took instead of being refused its own seats."""
    if request_key is None:
        return new_hold_id()
    named = "\x1f".join((str(schedule_id), user, request_key, ",".join(sorted(seat_nos))))
    return "h_" + hashlib.sha256(named.encode()).hexdigest()[:32]


def requested_seats(seat_nos: Iterable[str], known: Container[str], max_seats_per_user: int) -> tuple[SeatNo, ...]:
    """Validate a hold request; returns the seats sorted (locks and inserts go in this order,
    so two overlapping requests can never wait on each other)."""
    wanted = list(seat_nos)
    if not wanted:
        raise InvalidInput("seat_nos must not be empty")
    if len(set(wanted)) != len(wanted):
        raise InvalidInput("seat_nos must not repeat a seat")
    if len(wanted) > max_seats_per_user:
        raise TooManySeats(f"at most {max_seats_per_user} seats per user", limit=max_seats_per_user)
    unknown = sorted(s for s in wanted if s not in known)
    if unknown:
        raise UnknownSeat(f"unknown seats: {', '.join(unknown[:10])}", seat_nos=unknown[:50])
    return tuple(SeatNo(s) for s in sorted(wanted))
