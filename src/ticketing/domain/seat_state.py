"""What Redis should show for a schedule's seats, derived from the database (the truth).

The reconciler compares this with what Redis shows and sends only what must change: the
SOLD seats it lacks, the HELD seats whose lock is gone (back to AVAILABLE) and -- when
Redis lost its data -- every live hold's lock and every user's seat count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ticketing.domain.holds import SeatStatus
from ticketing.domain.ids import SeatNo, UserId


def hold_member(hold_id: str, seat_count: int) -> str:
    """A hold's member in its user's hold ZSET: the scripts read the seat count from it."""
    return f"{seat_count}|{hold_id}"


class Want(StrEnum):
    SOLD = "SOLD"
    HELD = "HELD"
    FREE = "FREE"
    ORPHAN = "ORPHAN"  # a lock no live hold owns: drop it (if it is still that hold's) and free the seat


@dataclass(frozen=True, slots=True)
class LockSeen:
    """A seat lock as Redis has it: its owner and the milliseconds it has left."""

    hold_id: str
    ttl_left_ms: int


@dataclass(frozen=True, slots=True)
class LiveHold:
    """A hold the database says still owns its seats (HELD and not expired, or paid and
    waiting for its confirmation), with the lock time it has left."""

    hold_id: str
    user_id: UserId
    seat_nos: tuple[SeatNo, ...]
    ttl_ms: int


@dataclass(frozen=True, slots=True)
class UserCount:
    """One entry of a user's hold ZSET: the member the scripts count, until ``expires_ms``
    (None: for good, the seats were bought)."""

    user_id: UserId
    member: str
    expires_ms: int | None


@dataclass(frozen=True, slots=True)
class SeatTruth:
    sold: frozenset[SeatNo]
    live_holds: tuple[LiveHold, ...]
    user_counts: tuple[UserCount, ...]


@dataclass(frozen=True, slots=True)
class SeatEntry:
    seat_no: SeatNo
    want: Want
    hold_id: str = ""
    ttl_ms: int = 0


def stray_seats(truth: SeatTruth, shown: Mapping[str, str]) -> list[SeatNo]:
    """Seats Redis shows HELD that no live hold of the database owns (and that are not sold)."""
    held = {seat for hold in truth.live_holds for seat in hold.seat_nos}
    return sorted(
        SeatNo(seat)
        for seat, state in shown.items()
        if state == SeatStatus.HELD and SeatNo(seat) not in held and SeatNo(seat) not in truth.sold
    )


def orphaned(lock: LockSeen, finished_holds: frozenset[str], hold_ttl_ms: int, orphan_after_ms: int) -> bool:
    """A lock on a stray seat is an orphan when the database says its hold is over (the
    release after it missed Redis), or when the lock is older than ``orphan_after_ms`` and
    still no live hold owns the seat (the API process died between the lock and the
    insert). A younger lock may belong to a hold whose insert is still on its way; a hold
    the database calls live is never an orphan, whatever the snapshot of a moment ago said."""
    if lock.hold_id in finished_holds:
        return True
    return hold_ttl_ms - lock.ttl_left_ms > orphan_after_ms


def restore_plan(
    truth: SeatTruth,
    shown: Mapping[str, str],
    rebuild: bool,
    orphans: Mapping[SeatNo, str] | None = None,
) -> list[SeatEntry]:
    """The seat entries to send. Healing sends only differences (usually none); a rebuild
    sends every SOLD seat and every live hold's seats, since Redis knows nothing.
    ``orphans``: stray seats whose lock is an orphan, with the lock's hold id."""
    orphans = orphans or {}
    entries: list[SeatEntry] = []
    held: set[SeatNo] = set()
    for hold in truth.live_holds:
        for seat in hold.seat_nos:
            if seat in truth.sold:
                continue
            held.add(seat)
            if rebuild:
                entries.append(SeatEntry(seat, Want.HELD, hold.hold_id, hold.ttl_ms))
    for seat in sorted(truth.sold):
        if rebuild or shown.get(seat) != SeatStatus.SOLD:
            entries.append(SeatEntry(seat, Want.SOLD))
    for shown_seat, state in sorted(shown.items()):
        seat_no = SeatNo(shown_seat)
        if state == SeatStatus.HELD and seat_no not in held and seat_no not in truth.sold:
            owner = orphans.get(seat_no)
            entries.append(SeatEntry(seat_no, Want.ORPHAN, owner) if owner else SeatEntry(seat_no, Want.FREE))
    return entries
