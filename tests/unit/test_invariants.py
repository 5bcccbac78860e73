"""The invariant rules on hand-made rows: each catches its violation and passes a clean sale."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ticketing.domain.ids import ScheduleId, SeatNo, UserId
from ticketing.domain.invariants import (
    CheckPolicy,
    GuardRow,
    Invariant,
    LiveState,
    OrderRow,
    ReservationRow,
    StoredRecords,
    check_all,
)

S = ScheduleId(7)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
POLICY = CheckPolicy(grace=timedelta(seconds=30))
LONG_AGO = NOW - timedelta(hours=1)


def reservation(
    rid: int,
    seat: str,
    status: str = "CONFIRMED",
    *,
    hold: str = "h1",
    user: str = "alice",
    schedule: int = S,
    at: datetime = LONG_AGO,
    pass_expires_at: datetime | None = None,
) -> ReservationRow:
    return ReservationRow(
        id=rid,
        schedule_id=ScheduleId(schedule),
        seat_no=SeatNo(seat),
        user_id=UserId(user),
        hold_id=hold,
        status=status,
        pass_expires_at=pass_expires_at or at + timedelta(minutes=5),
        created_at=at,
        updated_at=at,
    )


def guard(seat: str, rid: int, at: datetime = LONG_AGO) -> GuardRow:
    return GuardRow(S, SeatNo(seat), rid, at)


def order(no: str, hold: str = "h1", status: str = "PAID", user: str = "alice", at: datetime = LONG_AGO) -> OrderRow:
    return OrderRow(no, hold, S, UserId(user), status, at)


def clean_records() -> StoredRecords:
    """Alice bought A-1 and A-2; Bob's order for B-1 was refunded; Carol holds C-1 unpaid."""
    return StoredRecords(
        schedule_id=S,
        queue_capacity=3,
        reservations=(
            reservation(1, "A-1"),
            reservation(2, "A-2"),
            reservation(3, "B-1", "REFUNDED", hold="h2", user="bob"),
            reservation(4, "C-1", "HELD", hold="h3", user="carol", at=NOW - timedelta(seconds=5)),
        ),
        guards=(guard("A-1", 1), guard("A-2", 2)),
        orders=(order("o1"), order("o2", "h2", "REFUNDED", "bob")),
    )


def clean_live() -> LiveState:
    return LiveState(
        now_ms=NOW_MS,
        admitted_tickets=(1, 2, 5, 9),
        pass_expiries_ms=(NOW_MS + 60_000, NOW_MS + 1, NOW_MS - 1, NOW_MS - 5_000),
        seat_states={"A-1": "SOLD", "A-2": "SOLD", "C-1": "HELD"},
    )


def broken(records: StoredRecords | None = None, live: LiveState | None = None) -> set[Invariant]:
    report = check_all(records or clean_records(), live or clean_live(), POLICY)
    return {v.invariant for v in report.violations}


def test_a_clean_sale_has_no_violations_and_counts_what_it_checked() -> None:
    report = check_all(clean_records(), clean_live(), POLICY)
    assert report.violations == ()
    assert report.ok
    assert report.checked == {
        "reservations": 4,
        "confirmed_reservations": 2,
        "guard_rows": 2,
        "orders": 2,
        "paid_orders": 1,
        "in_flight_orders": 0,
        "admissions": 4,
        "live_passes": 2,
        "queue_capacity": 3,
        "seat_map_entries": 3,
        "live_state_released": 0,
        "pending_refunds": 0,
    }


def test_a_seat_with_two_confirmed_reservations_breaks_seat_confirmed_once() -> None:
    records = clean_records()
    records = replace(records, reservations=(*records.reservations, reservation(9, "A-1", hold="h9", user="eve")))
    report = check_all(records, clean_live(), POLICY)
    assert {v.invariant for v in report.violations} == {Invariant.SEAT_CONFIRMED_ONCE}
    assert "seat A-1 has 2 CONFIRMED reservations (1, 9)" in [v.detail for v in report.violations]


def test_a_confirmed_reservation_without_its_guard_row_breaks_seat_confirmed_once() -> None:
    records = replace(clean_records(), guards=(guard("A-1", 1),))
    report = check_all(records, clean_live(), POLICY)
    assert [v.detail for v in report.violations] == ["CONFIRMED reservation 2 (seat A-2) has no guard row"]


def test_a_guard_row_naming_an_unconfirmed_or_missing_reservation_breaks_seat_confirmed_once() -> None:
    records = replace(clean_records(), guards=(guard("A-1", 1), guard("A-2", 2), guard("C-1", 4), guard("D-1", 99)))
    details = [v.detail for v in check_all(records, clean_live(), POLICY).violations]
    assert "guard row for seat C-1 points at reservation 4, which is HELD" in details
    assert "guard row for seat D-1 points at reservation 99, which does not exist" in details


def test_a_guard_row_naming_a_reservation_of_another_seat_breaks_seat_confirmed_once() -> None:
    records = replace(clean_records(), guards=(guard("A-1", 2), guard("A-2", 1)))
    assert broken(records) == {Invariant.SEAT_CONFIRMED_ONCE}


def test_a_paid_order_pending_past_the_grace_is_stuck() -> None:
    records = clean_records()
    records = replace(
        records,
        reservations=(*records.reservations, reservation(5, "E-1", "PAYMENT_PENDING", hold="h5", at=LONG_AGO)),
        orders=(*records.orders, order("o5", "h5")),
    )
    report = check_all(records, clean_live(), POLICY)
    assert {v.invariant for v in report.violations} == {Invariant.PAID_ORDERS_SETTLED}
    assert "stuck" in report.violations[0].detail


def test_a_paid_order_pending_within_the_grace_is_in_flight_not_stuck() -> None:
    records = clean_records()
    recent = NOW - timedelta(seconds=10)
    records = replace(
        records,
        reservations=(*records.reservations, reservation(5, "E-1", "PAYMENT_PENDING", hold="h5", at=recent)),
        orders=(*records.orders, order("o5", "h5", at=recent)),
    )
    report = check_all(records, clean_live(), POLICY)
    assert report.ok
    assert report.checked["in_flight_orders"] == 1


def test_a_paid_order_whose_hold_expired_unconfirmed_breaks_paid_orders_settled() -> None:
    records = clean_records()
    records = replace(
        records,
        reservations=(*records.reservations, reservation(5, "E-1", "EXPIRED", hold="h5")),
        orders=(*records.orders, order("o5", "h5")),
    )
    assert broken(records) == {Invariant.PAID_ORDERS_SETTLED}


def test_a_refund_pending_order_past_the_grace_is_stuck() -> None:
    records = clean_records()
    records = replace(
        records,
        reservations=(*records.reservations, reservation(5, "E-1", "REFUND_PENDING", hold="h5")),
        orders=(*records.orders, order("o5", "h5", "REFUND_PENDING")),
    )
    assert broken(records) == {Invariant.PAID_ORDERS_SETTLED}
    fresh = NOW - timedelta(seconds=1)
    records = replace(records, orders=(*records.orders[:-1], order("o5", "h5", "REFUND_PENDING", at=fresh)))
    assert broken(records) == set()


def test_a_refunded_order_with_confirmed_seats_breaks_paid_orders_settled() -> None:
    records = replace(clean_records(), orders=(order("o1", "h1", "REFUNDED"), clean_records().orders[1]))
    assert broken(records) == {Invariant.PAID_ORDERS_SETTLED}


def test_a_ticket_admitted_after_a_later_one_breaks_fifo_admission() -> None:
    live = replace(clean_live(), admitted_tickets=(1, 2, 5, 4, 9, 9))
    report = check_all(clean_records(), live, POLICY)
    assert [v.detail for v in report.violations] == [
        "admission #4 is ticket 4, after ticket 5",
        "admission #6 is ticket 9, after ticket 9",
    ]
    assert {v.invariant for v in report.violations} == {Invariant.FIFO_ADMISSION}


def test_more_live_passes_than_capacity_breaks_passes_within_capacity() -> None:
    live = replace(clean_live(), pass_expiries_ms=tuple(NOW_MS + i for i in range(1, 5)))
    assert broken(live=live) == {Invariant.PASSES_WITHIN_CAPACITY}


def test_expired_passes_do_not_count_against_capacity() -> None:
    live = replace(clean_live(), pass_expiries_ms=(NOW_MS + 1, *(NOW_MS - i for i in range(10))))
    assert broken(live=live) == set()


def test_a_hold_written_after_its_pass_expired_breaks_hold_had_live_pass() -> None:
    records = clean_records()
    late = reservation(5, "E-1", "HELD", hold="h5", at=NOW - timedelta(seconds=5), pass_expires_at=LONG_AGO)
    records = replace(records, reservations=(*records.reservations, late))
    report = check_all(records, clean_live(), POLICY)
    assert {v.invariant for v in report.violations} == {Invariant.HOLD_HAD_LIVE_PASS}


def test_a_hold_written_a_moment_after_its_pass_expired_is_within_the_allowance() -> None:
    records = clean_records()
    at = NOW - timedelta(seconds=5)
    edge = reservation(5, "E-1", "HELD", hold="h5", at=at, pass_expires_at=at - timedelta(milliseconds=50))
    assert broken(replace(records, reservations=(*records.reservations, edge))) == set()


def test_an_order_for_someone_elses_hold_breaks_payer_owns_hold() -> None:
    records = clean_records()
    records = replace(records, orders=(*records.orders, order("o3", "h3", "READY", user="mallory")))
    report = check_all(records, clean_live(), POLICY)
    assert [(v.invariant, v.detail) for v in report.violations] == [
        (Invariant.PAYER_OWNS_HOLD, "READY order o3 of mallory is for hold h3 of carol")
    ]


def test_an_order_for_a_hold_that_does_not_exist_breaks_payer_owns_hold() -> None:
    records = clean_records()
    records = replace(records, orders=(*records.orders, order("o9", "h-missing")))
    assert broken(records) == {Invariant.PAYER_OWNS_HOLD}


def test_a_sold_seat_not_shown_sold_past_the_grace_breaks_seat_map_matches() -> None:
    live = replace(clean_live(), seat_states={"A-1": "SOLD", "A-2": "HELD"})
    report = check_all(clean_records(), live, POLICY)
    assert {v.invariant for v in report.violations} == {Invariant.SEAT_MAP_MATCHES}
    assert "seat A-2" in report.violations[0].detail


def test_a_seat_map_lagging_a_fresh_confirmation_is_in_flight() -> None:
    records = replace(clean_records(), guards=(guard("A-1", 1), guard("A-2", 2, NOW - timedelta(seconds=3))))
    live = replace(clean_live(), seat_states={"A-1": "SOLD"})
    assert broken(records, live) == set()
