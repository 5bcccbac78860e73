"""Recognising MySQL/MariaDB errors by their numbers."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

ER_DUP_ENTRY = 1062


def is_duplicate_key(exc: DBAPIError) -> bool:
    args: tuple[object, ...] = tuple(getattr(exc.orig, "args", ()))
    return len(args) > 0 and args[0] == ER_DUP_ENTRY
