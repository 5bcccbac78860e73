"""Messages on the wire: round trips, and shapes that can never be handled."""

import pytest

from ticketing.domain.messages import ConfirmRequested, MalformedMessage, RefundRequested


def test_confirm_request_round_trips_through_a_dict() -> None:
    message = ConfirmRequested("e-1", "ord_1", "h_1", 7, "alice")
    assert ConfirmRequested.from_dict(message.to_dict()) == message


def test_refund_request_ignores_unknown_fields() -> None:
    data = {**RefundRequested("e", "o", "h", 1, "u", "10.00").to_dict(), "extra": True}
    assert RefundRequested.from_dict(data).amount == "10.00"


@pytest.mark.parametrize(
    "change",
    [{"schedule_id": "7"}, {"schedule_id": True}, {"hold_id": None}, {"user_id": 5}],
)
def test_wrong_field_types_are_malformed(change: dict[str, object]) -> None:
    data = {**ConfirmRequested("e-1", "ord_1", "h_1", 7, "alice").to_dict(), **change}
    with pytest.raises(MalformedMessage):
        ConfirmRequested.from_dict(data)


def test_missing_field_is_malformed() -> None:
    with pytest.raises(MalformedMessage, match="order_no"):
        ConfirmRequested.from_dict({"event_id": "e", "hold_id": "h", "schedule_id": 1, "user_id": "u"})
