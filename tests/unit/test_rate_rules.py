"""How a rate is written, whom a request counts against, and which address is the client's."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from ticketing.api.client_address import ClientAddresses
from ticketing.domain.ids import UserId
from ticketing.domain.rate_limits import Action, Rate, counted_as, identity, over_limit


@pytest.mark.parametrize(
    ("text", "rate"), [("10/second", Rate(10, 1)), ("600 per minute", Rate(600, 60)), (" 3/hour ", Rate(3, 3600))]
)
def test_rates_read_as_written(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate
    assert Rate.parse(str(rate)) == rate


def test_a_request_counts_against_its_user_else_its_address() -> None:
    assert identity(UserId("u1"), "10.0.0.1") == "user:u1"
    assert identity(None, "10.0.0.1") == "addr:10.0.0.1"
    assert counted_as(Action.SEAT_MAP, None) is Action.SEAT_MAP_ANONYMOUS
    assert counted_as(Action.SEAT_MAP, UserId("u1")) is Action.SEAT_MAP
    assert counted_as(Action.HOLD, None) is Action.HOLD


def test_a_refusal_says_when_to_come_back_in_whole_seconds() -> None:
    assert (over_limit(Action.HOLD, 1).retry_after_s, over_limit(Action.HOLD, 14_200).retry_after_s) == (1, 15)
    assert over_limit(Action.HOLD, 1).extra == {"action": "hold"}


def request_from(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


def test_the_forwarded_client_is_believed_only_from_a_trusted_proxy() -> None:
    addresses = ClientAddresses(["10.1.0.0/16", "192.0.2.9"])
    assert addresses.of(request_from("203.0.113.5", "1.2.3.4")) == "203.0.113.5"
    assert addresses.of(request_from("10.1.2.3", "1.2.3.4")) == "1.2.3.4"
    assert addresses.of(request_from("10.1.2.3", "6.6.6.6, 1.2.3.4, 192.0.2.9")) == "1.2.3.4"
    assert addresses.of(request_from("10.1.2.3", "")) == "10.1.2.3"
    assert addresses.of(request_from("10.1.2.3", "not-an-ip")) == "not-an-ip"
    assert ClientAddresses([]).of(request_from("10.1.2.3", "1.2.3.4")) == "10.1.2.3"
