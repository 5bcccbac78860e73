"""Events, schedules and seats: what is on sale, when, and how the line is paced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ticketing.domain.errors import DuplicateSeat, InvalidInput
from ticketing.domain.ids import EventId, ScheduleId, SeatNo

# Whether listed one by one or generated as rows x cols: a bigger map is a typo or an abuse.
MAX_SEATS_PER_SCHEDULE = 50_000


@dataclass(frozen=True, slots=True)
class Event:
    id: EventId
    title: str
    description: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    """How the waiting room in front of one schedule admits people."""

    capacity: int
    pass_ttl_s: int
    admit_per_tick: int
    paused: bool = False  # the organiser paused admission: passes still expire, nobody is admitted


@dataclass(frozen=True, slots=True)
class Schedule:
    id: ScheduleId
    event_id: EventId
    starts_at: datetime
    sale_opens_at: datetime
    hold_ttl_s: int
    max_seats_per_user: int
    queue: QueuePolicy
    sale_closed_at: datetime | None = None  # the organiser closed the sale before the show

    def sale_is_open(self, now: datetime) -> bool:
        return self.sale_opens_at <= now < self.starts_at and not self.is_closed(now)

    def is_closed(self, now: datetime) -> bool:
        """Over for buyers: the show has started, or the organiser closed the sale."""
        return now >= self.starts_at or self.sale_closed_at is not None


@dataclass(frozen=True, slots=True)
class SeatSpec:
    seat_no: SeatNo
    price: Decimal
    section: str = ""
    row_label: str = ""


@dataclass(frozen=True, slots=True)
class NewSchedule:
    """A validated request to create a schedule with its seats."""

    starts_at: datetime
    sale_opens_at: datetime
    hold_ttl_s: int
    max_seats_per_user: int
    queue: QueuePolicy
    seats: tuple[SeatSpec, ...]

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.sale_opens_at.tzinfo is None:
            raise InvalidInput("timestamps must carry a UTC offset")
        if self.sale_opens_at >= self.starts_at:
            raise InvalidInput("sale_opens_at must be before starts_at")
        if not self.seats:
            raise InvalidInput("a schedule needs at least one seat")
        seen: set[str] = set()
        for seat in self.seats:
            if seat.seat_no in seen:
                raise DuplicateSeat(f"seat {seat.seat_no!r} appears more than once")
            seen.add(seat.seat_no)


def row_letters(index: int) -> str:
    """Spreadsheet-style row names: 0 -> A, 25 -> Z, 26 -> AA, 701 -> ZZ, 702 -> AAA."""
    if index < 0:
        raise ValueError("row index must be >= 0")
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def seat_grid(rows: int, cols: int, price: Decimal, section: str = "") -> tuple[SeatSpec, ...]:
    """Seats named ``<row letters>-<column>``: A-1 .. A-cols, B-1 .., AA-1 after Z."""
    if rows < 1 or cols < 1:
        raise InvalidInput("rows and cols must be >= 1")
    if rows * cols > MAX_SEATS_PER_SCHEDULE:
        raise InvalidInput(f"a schedule has at most {MAX_SEATS_PER_SCHEDULE} seats")
    seats = []
    for r in range(rows):
        label = row_letters(r)
        for c in range(1, cols + 1):
            seats.append(SeatSpec(SeatNo(f"{label}-{c}"), price, section, label))
    return tuple(seats)
