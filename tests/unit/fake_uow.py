"""An in-memory unit of work for unit tests of the settlement rules (no database).

It keeps orders, reservations, guard rows, outbox messages and tracking rows in dicts,
applies each ``run`` to a copy and keeps the copy only when the work returns, so a
failed try leaves nothing behind, as a rolled-back transaction would.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from ticketing.domain.ids import ScheduleId, SeatNo, UserId
from ticketing.domain.payments import DueOrder, OrderStatus, PaymentOrder, order_sources_of
from ticketing.domain.reservations import HoldRecord, Reservation, ReservationStatus, sources_of

T = TypeVar("T")


@dataclass
class State:
    orders: dict[str, PaymentOrder] = field(default_factory=dict)
    reservations: dict[int, Reservation] = field(default_factory=dict)
    guard: dict[tuple[int, str], int] = field(default_factory=dict)
    outbox: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    processed: set[tuple[str, str]] = field(default_factory=set)
    retries: dict[str, int] = field(default_factory=dict)
    checks: dict[str, float | None] = field(default_factory=dict)  # seconds until due; 0: due now
    clock: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))


class _Orders:
    def __init__(self, s: State) -> None:
        self.s = s

    async def get(self, order_no: str, *, for_update: bool = False) -> PaymentOrder | None:
        return self.s.orders.get(order_no)

    async def move(self, order_no: str, target: OrderStatus, now: datetime, pg_tx_id: str | None = None) -> bool:
        order = self.s.orders.get(order_no)
        if order is None or order.status not in order_sources_of(target):
            return False
        self.s.orders[order_no] = replace(order, status=target, pg_tx_id=pg_tx_id or order.pg_tx_id)
        return True

    async def schedule_check(self, order_no: str, in_s: float | None) -> None:
        self.s.checks[order_no] = in_s

    async def note_retry(self, order_no: str, error: str | None, in_s: float) -> None:
        self.s.retries[order_no] = self.s.retries.get(order_no, 0) + 1
        self.s.checks[order_no] = in_s

    async def claim_due(self, limit: int, lease_s: float) -> list[DueOrder]:
        due = [DueOrder(o, self.s.retries.get(n, 0)) for n, o in self.s.orders.items() if self.s.checks.get(n) == 0]
        for d in due[:limit]:
            self.s.checks[d.order.order_no] = lease_s
        return due[:limit]


class _Holds:
    def __init__(self, s: State) -> None:
        self.s = s

    async def get(self, hold_id: str, *, for_update: bool = False) -> HoldRecord | None:
        rows = sorted((r for r in self.s.reservations.values() if r.hold_id == hold_id), key=lambda r: r.seat_no)
        return HoldRecord(hold_id, rows[0].schedule_id, rows[0].user_id, tuple(rows)) if rows else None

    async def move(self, hold_id: str, target: ReservationStatus, now: datetime) -> int:
        changed = 0
        for rid, r in list(self.s.reservations.items()):
            if r.hold_id == hold_id and r.status in sources_of(target):
                self.s.reservations[rid] = replace(r, status=target)
                changed += 1
        return changed

    async def lock_expired(self, limit: int) -> list[HoldRecord]:
        due = {r.hold_id for r in self.s.reservations.values() if r.status is ReservationStatus.HELD}
        due = {
            h for h in due if any(r.expires_at <= self.s.clock for r in self.s.reservations.values() if r.hold_id == h)
        }
        return [h for h in [await self.get(x) for x in sorted(due)][:limit] if h is not None]

    async def seats_counted_for_user(self, schedule_id: ScheduleId, user: UserId, excluding: str) -> int:
        paying = {o.hold_id for o in self.s.orders.values() if o.status is OrderStatus.READY}
        counted = {ReservationStatus.PAYMENT_PENDING, ReservationStatus.CONFIRMED}
        return sum(
            1
            for r in self.s.reservations.values()
            if r.user_id == user
            and r.hold_id != excluding
            and (r.status in counted or (r.status is ReservationStatus.HELD and r.hold_id in paying))
        )

    async def newer_live_holds(self, schedule_id: ScheduleId, seats: Sequence[tuple[SeatNo, int]]) -> list[SeatNo]:
        rs = ReservationStatus
        return sorted(
            {
                r.seat_no
                for r in self.s.reservations.values()
                for seat, rid in seats
                if r.schedule_id == schedule_id
                and r.seat_no == seat
                and r.id > rid
                and (r.status is rs.PAYMENT_PENDING or (r.status is rs.HELD and r.expires_at > self.s.clock))
            }
        )

    async def extend(self, hold_id: str, window_s: int, now: datetime) -> int:
        until = self.s.clock + timedelta(seconds=window_s)
        changed = 0
        for rid, r in list(self.s.reservations.items()):
            if r.hold_id == hold_id and r.status is ReservationStatus.HELD and r.expires_at > self.s.clock:
                self.s.reservations[rid] = replace(r, expires_at=max(r.expires_at, until))
                changed += 1
        return changed


class _Guard:
    def __init__(self, s: State) -> None:
        self.s = s

    async def claim(self, schedule_id: ScheduleId, seats: Sequence[tuple[SeatNo, int]], now: datetime) -> bool:
        if any((schedule_id, seat) in self.s.guard for seat, _ in seats):
            return False
        for seat, rid in seats:
            self.s.guard[(schedule_id, seat)] = rid
        return True

    async def owned_by_others(self, schedule_id: ScheduleId, seats: Sequence[tuple[SeatNo, int]]) -> list[SeatNo]:
        return sorted(seat for seat, rid in seats if self.s.guard.get((schedule_id, seat)) not in (None, rid))


class _Outbox:
    def __init__(self, s: State) -> None:
        self.s = s

    async def append(self, topic: str, key: str, payload: dict[str, Any], now: datetime) -> None:
        self.s.outbox.append((topic, key, payload))


class _Processed:
    def __init__(self, s: State) -> None:
        self.s = s

    async def mark(self, consumer: str, event_id: str, now: datetime) -> bool:
        if (consumer, event_id) in self.s.processed:
            return False
        self.s.processed.add((consumer, event_id))
        return True


class FakeUnitOfWork:
    def __init__(self, s: State) -> None:
        self.orders = _Orders(s)
        self.holds = _Holds(s)
        self.guard = _Guard(s)
        self.outbox = _Outbox(s)
        self.processed = _Processed(s)


class FakeTransactions:
    """Runs work on a copy of the state; keeps it only if the work returns."""

    def __init__(self, state: State | None = None) -> None:
        self.state = state or State()
        self.runs = 0

    async def run(self, work: Callable[[FakeUnitOfWork], Awaitable[T]]) -> T:
        self.runs += 1
        trial = copy.deepcopy(self.state)
        result = await work(FakeUnitOfWork(trial))
        self.state = trial
        return result


def add_hold(
    state: State,
    hold_id: str,
    seats: Sequence[str],
    status: ReservationStatus,
    user: str = "u",
    expires_in_s: float = 0.0,
) -> None:
    """Rows inserted after every existing one (ids grow), expiring ``expires_in_s`` from the clock."""
    for seat in seats:
        rid = len(state.reservations) + 1
        expires_at = state.clock + timedelta(seconds=expires_in_s)
        state.reservations[rid] = Reservation(
            rid, ScheduleId(1), SeatNo(seat), UserId(user), hold_id, status, expires_at
        )


def add_order(state: State, order_no: str, hold_id: str, status: OrderStatus, user: str = "u") -> None:
    state.orders[order_no] = PaymentOrder(
        order_no, hold_id, ScheduleId(1), UserId(user), Decimal("25.00"), status, None
    )
