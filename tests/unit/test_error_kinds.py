"""Every domain error has exactly one kind, and the API answers by kind."""

from __future__ import annotations

import inspect

from ticketing.api.problems import STATUS_BY_KIND, status_of
from ticketing.domain import errors

KINDS = set(STATUS_BY_KIND)


def concrete_errors() -> list[type[errors.TicketingError]]:
    return [
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, errors.TicketingError) and c is not errors.TicketingError and c not in KINDS
    ]


def test_every_error_is_of_exactly_one_kind() -> None:
    found = concrete_errors()
    assert len(found) >= 25
    for error in found:
        kinds = [k for k in KINDS if issubclass(error, k)]
        assert len(kinds) == 1, (error.__name__, kinds)


def test_every_code_is_unique() -> None:
    codes = [e.code for e in concrete_errors()]
    assert len(codes) == len(set(codes))


def test_a_new_error_takes_its_kinds_status_and_one_without_a_kind_is_no_4xx() -> None:
    class SeatsFrozen(errors.Conflict):
        code = "SEATS_FROZEN"

    class Unclassified(errors.TicketingError):
        code = "UNCLASSIFIED"

    assert status_of(SeatsFrozen()) == 409
    assert status_of(Unclassified()) is None  # answered as a crash (500), never a silent 400
    assert status_of(errors.SeatTaken()) == 409
    assert status_of(errors.PassExpired()) == 403
    assert status_of(errors.IdempotencyKeyRequired()) == 400
    assert status_of(errors.StreamCapacityReached()) == 503


def test_every_code_is_documented_with_its_status() -> None:
    from pathlib import Path

    rows = [
        line.split("|")[1:3] for line in (Path(__file__).parents[2] / "docs" / "problems.md").read_text().splitlines()
    ]
    documented = {
        (code, status) for row in rows if len(row) == 2 for code in row[0].split("`")[1::2] for status in [row[1]]
    }
    missing = [
        e.code for e in concrete_errors() if not any(c == e.code and str(status_of(e())) in st for c, st in documented)
    ]
    assert missing == []
