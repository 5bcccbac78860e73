"""Seat holds: which seats, for whom, until when; validated before any lock is taken."""

from __future__ import annotations

import uuid
from collections.abc import Container, Iterable
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
