"""UTC conversion at the database boundary: stored naive UTC, handed out aware."""

from __future__ import annotations

from datetime import UTC, datetime


def to_db_time(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def from_db_time(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)
