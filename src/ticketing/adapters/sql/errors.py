"""Recognising MySQL/MariaDB errors by their numbers."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

ER_DUP_ENTRY = 1062
ER_LOCK_WAIT_TIMEOUT = 1205
ER_LOCK_DEADLOCK = 1213

# Errors after which the same transaction, run again from the start, may well succeed.
TRANSIENT = {ER_LOCK_DEADLOCK: "deadlock", ER_LOCK_WAIT_TIMEOUT: "lock_wait_timeout"}


def error_number(exc: BaseException) -> int | None:
    """The server's error number of a SQLAlchemy-wrapped or bare driver error."""
    source = exc.orig if isinstance(exc, DBAPIError) else exc
    args: tuple[object, ...] = tuple(getattr(source, "args", ()))
    return args[0] if args and isinstance(args[0], int) else None


def is_duplicate_key(exc: DBAPIError) -> bool:
    return error_number(exc) == ER_DUP_ENTRY


def transient_reason(exc: BaseException) -> str | None:
    """``deadlock`` / ``lock_wait_timeout`` when retrying the whole transaction is the cure."""
    number = error_number(exc)
    return TRANSIENT.get(number) if number is not None else None
