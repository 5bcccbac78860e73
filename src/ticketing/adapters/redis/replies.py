"""Reading Redis replies: the client hands back bytes (or str), scripts hand back integers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def integer(value: Any) -> int:
    return int(text(value)) if isinstance(value, bytes | str) else int(value)


def ms_to_datetime(ms: int) -> datetime:
    """A Redis-clock timestamp in milliseconds as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
