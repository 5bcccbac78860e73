"""Recognising MySQL/MariaDB errors by their numbers."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

ER_DUP_ENTRY = 1062
ER_LOCK_WAIT_TIMEOUT = 1205
ER_LOCK_DEADLOCK = 1213

# Errors after which the same transaction, run again from the start, may well succeed.
TRANSIENT = {ER_LOCK_DEADLOCK: "deadlock", ER_LOCK_WAIT_TIMEOUT: "lock_wait_timeout"}

# The server is down, restarting, full or cut off: nothing was wrong with the statement.
# 1040 too many connections, 1053 shutdown in progress, 1152-1161 network read/write errors,
# 1927 connection killed, 2002/2003 cannot connect, 2006 gone away, 2013 lost during query,
# 2055 lost at handshake, 4031 disconnected for inactivity.
UNREACHABLE = {1040, 1053, 1152, 1153, 1154, 1155, 1156, 1157, 1158, 1159, 1160, 1161, 1927}
UNREACHABLE |= {2002, 2003, 2006, 2013, 2055, 4031}


def error_number(exc: BaseException) -> int | None:
    """The server's error number of a SQLAlchemy-wrapped or bare driver error."""
    source = exc.orig if isinstance(exc, DBAPIError) else exc
    args: tuple[object, ...] = tuple(getattr(source, "args", ()))
    return args[0] if args and isinstance(args[0], int) else None


def is_duplicate_key(exc: BaseException) -> bool:
    return error_number(exc) == ER_DUP_ENTRY


def transient_reason(exc: BaseException) -> str | None:
    """``deadlock`` / ``lock_wait_timeout`` when retrying the whole transaction is the cure."""
    number = error_number(exc)
    return TRANSIENT.get(number) if number is not None else None


def server_unavailable(exc: BaseException) -> bool:
    """True when the database could not answer (or kept deadlocking), false when it refused
    the statement itself, e.g. a failed CHECK constraint: only the first is worth a retry."""
    number = error_number(exc)
    return number is None or number in UNREACHABLE or number in TRANSIENT
