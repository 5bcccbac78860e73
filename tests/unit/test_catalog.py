"""Seat generator and schedule validation."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ticketing.domain.catalog import NewSchedule, QueuePolicy, SeatSpec, row_letters, seat_grid
from ticketing.domain.errors import DuplicateSeat, InvalidInput
from ticketing.domain.ids import SeatNo

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("index", "letters"),
    [(0, "A"), (25, "Z"), (26, "AA"), (27, "AB"), (51, "AZ"), (52, "BA"), (701, "ZZ"), (702, "AAA")],
)
def test_row_letters_follow_spreadsheet_naming(index: int, letters: str) -> None:
    assert row_letters(index) == letters


def test_seat_grid_names_seats_row_dash_column_in_order() -> None:
    seats = seat_grid(2, 3, Decimal("10.00"))
    assert [s.seat_no for s in seats] == ["A-1", "A-2", "A-3", "B-1", "B-2", "B-3"]
    assert {s.row_label for s in seats} == {"A", "B"}
    assert all(s.price == Decimal("10.00") for s in seats)


def test_seat_grid_continues_with_double_letters_after_z() -> None:
    seats = seat_grid(28, 1, Decimal(1))
    assert [s.seat_no for s in seats[-3:]] == ["Z-1", "AA-1", "AB-1"]
    assert len({s.seat_no for s in seats}) == 28


def test_seat_grid_refuses_empty_grid() -> None:
    with pytest.raises(InvalidInput):
        seat_grid(0, 5, Decimal(1))


def _schedule(**overrides: object) -> NewSchedule:
    fields: dict[str, object] = {
        "starts_at": NOW + timedelta(days=1),
        "sale_opens_at": NOW,
        "hold_ttl_s": 60,
        "max_seats_per_user": 4,
        "queue": QueuePolicy(10, 60, 5),
        "seats": seat_grid(1, 2, Decimal(1)),
    }
    fields.update(overrides)
    return NewSchedule(**fields)  # type: ignore[arg-type]


def test_schedule_with_duplicate_seat_numbers_is_refused() -> None:
    seat = SeatSpec(SeatNo("A-1"), Decimal(1))
    with pytest.raises(DuplicateSeat):
        _schedule(seats=(seat, seat))


def test_sale_must_open_before_the_show_starts() -> None:
    with pytest.raises(InvalidInput):
        _schedule(sale_opens_at=NOW + timedelta(days=2))


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(InvalidInput):
        _schedule(sale_opens_at=datetime(2026, 1, 1))


def test_sale_is_open_between_opening_and_show_start() -> None:
    from ticketing.domain.catalog import Schedule
    from ticketing.domain.ids import EventId, ScheduleId

    s = Schedule(ScheduleId(1), EventId(1), NOW + timedelta(hours=1), NOW, 60, 4, QueuePolicy(1, 1, 1))
    assert not s.sale_is_open(NOW - timedelta(seconds=1))
    assert s.sale_is_open(NOW)
    assert not s.sale_is_open(NOW + timedelta(hours=1))
