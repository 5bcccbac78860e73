"""The invariants of a sale (design section 7) as pure rules: given rows and live state, list what is broken."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from ticketing.domain.holds import SeatStatus
from ticketing.domain.ids import ScheduleId, SeatNo, UserId
from ticketing.domain.payments import OrderStatus
from ticketing.domain.reservations import ReservationStatus

RS = ReservationStatus
REFUND_STATES = frozenset({RS.REFUND_PENDING.value, RS.REFUNDED.value})
ORDER_REFUND_STATES = frozenset({OrderStatus.REFUND_PENDING.value, OrderStatus.REFUNDED.value})


class Invariant(StrEnum):
    """Stable ids: the benchmark runner and the tests match on them."""

    SEAT_CONFIRMED_ONCE = "seat_confirmed_once"
    PAID_ORDERS_SETTLED = "paid_orders_settled"
    FIFO_ADMISSION = "fifo_admission"
    PASSES_WITHIN_CAPACITY = "passes_within_capacity"
    HOLD_HAD_LIVE_PASS = "hold_had_live_pass"  # noqa: S105 -- an invariant's name, not a secret
    PAYER_OWNS_HOLD = "payer_owns_hold"
    SEAT_MAP_MATCHES = "seat_map_matches"


@dataclass(frozen=True, slots=True)
class Violation:
    invariant: Invariant
    detail: str


# Statuses stay raw strings in these rows: a checker must report a status no enum knows,
# not crash on it. StrEnum members compare equal to their strings.


@dataclass(frozen=True, slots=True)
class ReservationRow:
    id: int
    schedule_id: ScheduleId
    seat_no: SeatNo
    user_id: UserId
    hold_id: str
    status: str
    pass_expires_at: datetime
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class GuardRow:
    schedule_id: ScheduleId
    seat_no: SeatNo
    reservation_id: int
    confirmed_at: datetime


@dataclass(frozen=True, slots=True)
class OrderRow:
    order_no: str
    hold_id: str
    schedule_id: ScheduleId
    user_id: UserId
    status: str
    updated_at: datetime
    retries: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class PendingRefund:
    """Money owed back and not yet returned: listed by the check until the provider refunds."""

    order_no: str
    since: datetime
    retries: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class StoredRecords:
    """What the database holds for one schedule, read in one consistent snapshot.

    ``reservations`` also carries rows of other schedules that a guard row or an order
    of this schedule points at, so a cross-schedule mix-up is visible; ``orders`` are
    the orders of this schedule plus any order naming a hold of this schedule.
    """

    schedule_id: ScheduleId
    queue_capacity: int
    reservations: tuple[ReservationRow, ...]
    guards: tuple[GuardRow, ...]
    orders: tuple[OrderRow, ...]
    # The show is over and its Redis state was deleted (services/retention.py): nothing live
    # is left to compare with the database.
    live_state_released: bool = False

    @property
    def own_reservations(self) -> list[ReservationRow]:
        return [r for r in self.reservations if r.schedule_id == self.schedule_id]

    def holds(self) -> dict[str, list[ReservationRow]]:
        by_hold: dict[str, list[ReservationRow]] = defaultdict(list)
        for row in self.reservations:
            by_hold[row.hold_id].append(row)
        return by_hold


@dataclass(frozen=True, slots=True)
class LiveState:
    """What Redis shows for one schedule, read atomically, with the Redis clock at that instant."""

    now_ms: int
    admitted_tickets: tuple[int, ...]
    pass_expiries_ms: tuple[int, ...]
    seat_states: Mapping[str, str] = field(default_factory=dict)

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_ms / 1000, tz=UTC)


@dataclass(frozen=True, slots=True)
class CheckPolicy:
    # Work the pipeline is still doing (a confirmation on its way, the seat map catching up)
    # is "in flight" for this long before it counts as stuck.
    grace: timedelta = timedelta(seconds=30)
    # The hold script checks the pass by the Redis clock; the row's created_at is stamped by
    # the API a moment later. A hold taken in the pass's last milliseconds is legitimate.
    hold_write_allowance: timedelta = timedelta(seconds=2)


@dataclass(frozen=True, slots=True)
class AuditReport:
    schedule_id: ScheduleId
    violations: tuple[Violation, ...]
    checked: Mapping[str, int]
    pending_refunds: tuple[PendingRefund, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations

    def counts_by_invariant(self) -> dict[Invariant, int]:
        counts: dict[Invariant, int] = {}
        for v in self.violations:
            counts[v.invariant] = counts.get(v.invariant, 0) + 1
        return counts


def _ids(values: Iterable[int]) -> str:
    return ", ".join(str(v) for v in sorted(values))


def _age_s(now: datetime, then: datetime) -> int:
    return int((now - then).total_seconds())


def seat_confirmed_once(records: StoredRecords) -> list[Violation]:
    """No seat confirmed twice; guard rows and CONFIRMED reservations match one to one."""
    inv = Invariant.SEAT_CONFIRMED_ONCE
    out: list[Violation] = []
    by_id = {r.id: r for r in records.reservations}
    confirmed = [r for r in records.own_reservations if r.status == RS.CONFIRMED]
    by_seat: dict[SeatNo, list[int]] = defaultdict(list)
    for r in confirmed:
        by_seat[r.seat_no].append(r.id)
    for seat_no, ids in sorted(by_seat.items()):
        if len(ids) > 1:
            out.append(Violation(inv, f"seat {seat_no} has {len(ids)} CONFIRMED reservations ({_ids(ids)})"))
    guard_by_seat = {g.seat_no: g for g in records.guards}
    for g in sorted(records.guards, key=lambda g: g.seat_no):
        named = by_id.get(g.reservation_id)
        where = f"guard row for seat {g.seat_no} points at reservation {g.reservation_id}"
        if named is None:
            out.append(Violation(inv, f"{where}, which does not exist"))
        elif named.status != RS.CONFIRMED:
            out.append(Violation(inv, f"{where}, which is {named.status}"))
        elif (named.schedule_id, named.seat_no) != (g.schedule_id, g.seat_no):
            out.append(Violation(inv, f"{where}, which is seat {named.seat_no} of schedule {named.schedule_id}"))
    for r in sorted(confirmed, key=lambda r: r.id):
        guard = guard_by_seat.get(r.seat_no)
        if guard is None:
            out.append(Violation(inv, f"CONFIRMED reservation {r.id} (seat {r.seat_no}) has no guard row"))
        elif guard.reservation_id != r.id:
            out.append(
                Violation(
                    inv,
                    f"CONFIRMED reservation {r.id} (seat {r.seat_no}) is not the one its seat's guard row "
                    f"names ({guard.reservation_id})",
                )
            )
    return out


def _pending_since(rows: Sequence[ReservationRow]) -> datetime | None:
    pending = [r.updated_at for r in rows if r.status == RS.PAYMENT_PENDING]
    return min(pending) if pending else None


def in_flight_orders(records: StoredRecords, now: datetime, policy: CheckPolicy) -> int:
    """PAID orders whose confirmation is still on its way (PAYMENT_PENDING, younger than the grace)."""
    holds = records.holds()
    count = 0
    for o in records.orders:
        rows = holds.get(o.hold_id, [])
        since = _pending_since(rows)
        if o.status == OrderStatus.PAID and since is not None and now - since <= policy.grace:
            count += 1
    return count


def paid_orders_settled(records: StoredRecords, now: datetime, policy: CheckPolicy) -> list[Violation]:
    """Every PAID order ends CONFIRMED, every refunded one REFUND_PENDING/REFUNDED; nothing stuck."""
    inv = Invariant.PAID_ORDERS_SETTLED
    grace_s = int(policy.grace.total_seconds())
    out: list[Violation] = []
    holds = records.holds()
    for o in sorted(records.orders, key=lambda o: o.order_no):
        rows = holds.get(o.hold_id, [])
        statuses = sorted({r.status for r in rows})
        shown = "/".join(statuses)
        if o.status == OrderStatus.PAID and rows:
            if set(statuses) - {RS.CONFIRMED.value, RS.PAYMENT_PENDING.value}:
                out.append(Violation(inv, f"PAID order {o.order_no}: hold {o.hold_id} is {shown}, not CONFIRMED"))
                continue
            since = _pending_since(rows)
            if since is not None and now - since > policy.grace:
                pending = sum(1 for r in rows if r.status == RS.PAYMENT_PENDING)
                out.append(
                    Violation(
                        inv,
                        f"PAID order {o.order_no} stuck: {pending} reservation(s) of hold {o.hold_id} "
                        f"PAYMENT_PENDING for {_age_s(now, since)} s (grace {grace_s} s)",
                    )
                )
        elif o.status in ORDER_REFUND_STATES:
            if rows and not set(statuses) <= REFUND_STATES:
                out.append(
                    Violation(
                        inv, f"{o.status} order {o.order_no}: hold {o.hold_id} is {shown}, not REFUND_PENDING/REFUNDED"
                    )
                )
            if o.status == OrderStatus.REFUND_PENDING and now - o.updated_at > policy.grace:
                out.append(
                    Violation(
                        inv,
                        f"REFUND_PENDING order {o.order_no} stuck for {_age_s(now, o.updated_at)} s "
                        f"(grace {grace_s} s)",
                    )
                )
    return out


def fifo_admission(admitted_tickets: Sequence[int]) -> list[Violation]:
    """Admission order equals arrival order: admitted ticket numbers strictly increase."""
    return [
        Violation(Invariant.FIFO_ADMISSION, f"admission #{i + 2} is ticket {later}, after ticket {earlier}")
        for i, (earlier, later) in enumerate(pairwise(admitted_tickets))
        if later <= earlier
    ]


def live_passes(live: LiveState) -> int:
    return sum(1 for expiry_ms in live.pass_expiries_ms if expiry_ms > live.now_ms)


def passes_within_capacity(live: LiveState, capacity: int) -> list[Violation]:
    """Passes alive right now (by the Redis clock) never exceed the queue capacity."""
    alive = live_passes(live)
    if alive <= capacity:
        return []
    return [Violation(Invariant.PASSES_WITHIN_CAPACITY, f"{alive} live passes exceed the capacity of {capacity}")]


def hold_had_live_pass(records: StoredRecords, policy: CheckPolicy) -> list[Violation]:
    """Every hold was written while the pass it was made with was live (one violation per hold)."""
    out: list[Violation] = []
    seen: set[str] = set()
    for r in sorted(records.own_reservations, key=lambda r: r.id):
        if r.hold_id in seen or r.created_at <= r.pass_expires_at + policy.hold_write_allowance:
            continue
        seen.add(r.hold_id)
        late_s = (r.created_at - r.pass_expires_at).total_seconds()
        out.append(
            Violation(
                Invariant.HOLD_HAD_LIVE_PASS,
                f"hold {r.hold_id} of {r.user_id} (reservation {r.id}, seat {r.seat_no}) was written "
                f"{late_s:.3f} s after its pass expired",
            )
        )
    return out


def payer_owns_hold(records: StoredRecords) -> list[Violation]:
    """Every order names an existing hold of the same user: no payment for someone else's hold."""
    inv = Invariant.PAYER_OWNS_HOLD
    out: list[Violation] = []
    holds = records.holds()
    for o in sorted(records.orders, key=lambda o: o.order_no):
        rows = holds.get(o.hold_id)
        if not rows:
            out.append(Violation(inv, f"{o.status} order {o.order_no} names hold {o.hold_id}, which does not exist"))
            continue
        owners = sorted({r.user_id for r in rows} - {o.user_id})
        if owners:
            out.append(
                Violation(
                    inv,
                    f"{o.status} order {o.order_no} of {o.user_id} is for hold {o.hold_id} of {', '.join(owners)}",
                )
            )
    return out


def seat_map_matches(records: StoredRecords, live: LiveState, policy: CheckPolicy) -> list[Violation]:
    """Every seat the guard says is sold shows SOLD in the Redis seat map (once the grace is over)."""
    now = live.now
    out: list[Violation] = []
    for g in sorted(records.guards, key=lambda g: g.seat_no):
        state = live.seat_states.get(g.seat_no)
        if state != SeatStatus.SOLD and now - g.confirmed_at > policy.grace:
            out.append(
                Violation(
                    Invariant.SEAT_MAP_MATCHES,
                    f"seat {g.seat_no} confirmed {_age_s(now, g.confirmed_at)} s ago shows "
                    f"{state or 'no state'} in the seat map, not SOLD",
                )
            )
    return out


def check_all(records: StoredRecords, live: LiveState, policy: CheckPolicy) -> AuditReport:
    """Every invariant, in the order of ``Invariant``, plus what was looked at."""
    now = live.now
    violations = [
        *seat_confirmed_once(records),
        *paid_orders_settled(records, now, policy),
        *fifo_admission(live.admitted_tickets),
        *passes_within_capacity(live, records.queue_capacity),
        *hold_had_live_pass(records, policy),
        *payer_owns_hold(records),
        *([] if records.live_state_released else seat_map_matches(records, live, policy)),
    ]
    own = records.own_reservations
    checked = {
        "reservations": len(own),
        "confirmed_reservations": sum(1 for r in own if r.status == RS.CONFIRMED),
        "guard_rows": len(records.guards),
        "orders": len(records.orders),
        "paid_orders": sum(1 for o in records.orders if o.status == OrderStatus.PAID),
        "in_flight_orders": in_flight_orders(records, now, policy),
        "admissions": len(live.admitted_tickets),
        "live_passes": live_passes(live),
        "queue_capacity": records.queue_capacity,
        "seat_map_entries": len(live.seat_states),
        "live_state_released": int(records.live_state_released),
    }
    refunds = tuple(
        PendingRefund(o.order_no, o.updated_at, o.retries, o.last_error)
        for o in records.orders
        if o.status == OrderStatus.REFUND_PENDING
    )
    checked["pending_refunds"] = len(refunds)
    return AuditReport(records.schedule_id, tuple(violations), checked, refunds)
