"""Which database errors are a retry's business and which are a bug's."""

from __future__ import annotations

import asyncmy.errors
import pytest
from sqlalchemy import exc as sa_exc

from ticketing.adapters.sql.errors import server_unavailable, transient_reason
from ticketing.bootstrap import dependency_down


def wrapped(number: int, message: str) -> sa_exc.OperationalError:
    return sa_exc.OperationalError("INSERT ...", {}, asyncmy.errors.OperationalError(number, message))


@pytest.mark.parametrize(
    ("number", "down"),
    [
        (2003, True),
        (2013, True),
        (2006, True),
        (1053, True),
        (1927, True),
        (1213, True),
        (1205, True),
        (4025, False),
        (1054, False),
        (1146, False),
    ],
)
def test_only_an_unreachable_or_deadlocked_server_counts_as_down(number: int, down: bool) -> None:
    assert server_unavailable(wrapped(number, "x")) is down
    assert dependency_down(wrapped(number, "x")) is down


def test_transient_reasons_name_the_two_retryable_lock_errors() -> None:
    assert transient_reason(wrapped(1213, "Deadlock found")) == "deadlock"
    assert transient_reason(wrapped(1205, "Lock wait timeout")) == "lock_wait_timeout"
    assert transient_reason(wrapped(2013, "Lost connection")) is None


def test_redis_and_socket_failures_are_always_down() -> None:
    assert dependency_down(ConnectionRefusedError()) is True
    assert dependency_down(TimeoutError()) is True
