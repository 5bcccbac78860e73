"""Which database errors are a retry's business and which are a bug's."""

from __future__ import annotations

import asyncmy.errors
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc

from ticketing.adapters.sql.errors import server_unavailable, transient_reason
from ticketing.api.problems import install_problem_handlers
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


def test_a_connection_the_database_closed_while_it_was_being_opened_is_down() -> None:
    # asyncmy, connecting while MariaDB restarts: the transport was closed before the driver
    # could set keep-alive on its socket (seen in the fault suite's MariaDB restart as a 500).
    assert dependency_down(RuntimeError("Transport does not expose socket instance")) is True
    # uvloop, writing on a connection a failover just closed.
    closed = "unable to perform operation on <TCPTransport closed=True>; the handler is closed"
    assert dependency_down(RuntimeError(closed)) is True
    assert dependency_down(RuntimeError("a bug of our own")) is False


@pytest.mark.parametrize(
    ("error", "status"),
    [(RuntimeError("Transport does not expose socket instance"), 503), (RuntimeError("a bug of our own"), 500)],
)
async def test_the_api_answers_a_closed_transport_503_and_a_bug_500(error: RuntimeError, status: int) -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/fails")
    async def fails() -> None:
        raise error

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/fails")
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
