"""The seat map's body is rendered once per seat and spliced per read (api/seat_map_json.py):
it must stay byte for byte what the response model serialises."""

from decimal import Decimal

from ticketing.api.schemas import SeatMapOut, SeatOut
from ticketing.api.seat_map_json import SeatMapJson
from ticketing.domain.catalog import SeatSpec
from ticketing.domain.ids import SeatNo
from ticketing.services.catalog import SeatView

SEATS = [
    SeatSpec(SeatNo("A-1"), Decimal("45"), "Stalls", "A"),
    SeatSpec(SeatNo('B-"2"'), Decimal("12.5"), 'Balcony \\ "left"', "B"),
    SeatSpec(SeatNo("가-3"), Decimal("99.999"), "1층 / 東", "가"),
]


def by_the_model(schedule_id: int, views: list[SeatView]) -> bytes:
    seats = [
        SeatOut(
            seat_no=v.seat.seat_no,
            section=v.seat.section,
            row_label=v.seat.row_label,
            price=v.seat.price,
            status=v.status,
        )
        for v in views
    ]
    model = SeatMapOut(schedule_id=schedule_id, seats=seats)
    return model.__pydantic_serializer__.to_json(model)


def test_the_body_is_what_the_response_model_serialises_read_after_read() -> None:
    rendered = SeatMapJson()
    for statuses in (["AVAILABLE", "HELD", "SOLD"], ["SOLD", "SOLD", "AVAILABLE"], ["AVAILABLE", 'odd "one"', "HELD"]):
        views = [SeatView(seat, status) for seat, status in zip(SEATS, statuses, strict=True)]
        assert rendered.body(7, views) == by_the_model(7, views)


def test_another_seat_list_under_the_same_id_is_rendered_afresh() -> None:
    rendered = SeatMapJson()
    rendered.body(7, [SeatView(seat, "AVAILABLE") for seat in SEATS])
    fewer = [SeatView(SeatSpec(SeatNo("Z-9"), Decimal("1"), "", "Z"), "HELD")]
    assert rendered.body(7, fewer) == by_the_model(7, fewer)


def test_the_cache_keeps_the_schedules_read_last() -> None:
    rendered = SeatMapJson(max_schedules=2)
    views = [SeatView(seat, "AVAILABLE") for seat in SEATS]
    for schedule_id in (1, 2, 1, 3):
        rendered.body(schedule_id, views)
    assert list(rendered._heads) == [1, 3]
