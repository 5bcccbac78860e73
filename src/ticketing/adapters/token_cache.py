"""A bounded memory of verified tokens, each kept no longer than the token itself is valid."""

from __future__ import annotations

import time
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_ENTRIES = 100_000


class VerifiedCache(Generic[T]):
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: dict[str, tuple[float, T]] = {}
        self._max = max_entries

    def get(self, token: str) -> T | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at <= time.time():
            # Expired: forget it, and let the caller verify again (which will now fail).
            self._entries.pop(token, None)
            return None
        return value

    def put(self, token: str, value: T, expires_at: float) -> None:
        if len(self._entries) >= self._max:
            # Crude but bounded: a full cache starts over rather than tracking recency.
            self._entries.clear()
        self._entries[token] = (expires_at, value)
