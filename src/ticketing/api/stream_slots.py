"""How many live seat-map streams this API process serves, in all and per client address.

A stream holds a connection, a queue and a share of every seat event for as long as the
client stays; without a cap, one script can open thousands. The slot is given back when the
stream ends, however it ends (the client leaves, the server stops, or the response is
dropped before it started).
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import AsyncIterator, Callable

from ticketing.domain.errors import StreamCapacityReached, TooManyStreams


class StreamSlots:
    def __init__(self, max_total: int, max_per_client: int) -> None:
        self._max_total = max_total
        self._max_per_client = max_per_client
        self._by_client: Counter[str] = Counter()
        self._in_use = 0

    @property
    def in_use(self) -> int:
        return self._in_use

    def take(self, client: str) -> Callable[[], None]:
        """Take a slot for ``client`` or raise TooManyStreams / StreamCapacityReached;
        returns the release, safe to call more than once."""
        if self._by_client[client] >= self._max_per_client:
            raise TooManyStreams(f"at most {self._max_per_client} streams per client")
        if self._in_use >= self._max_total:
            raise StreamCapacityReached("try again shortly, or another server")
        self._by_client[client] += 1
        self._in_use += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._in_use -= 1
                self._by_client[client] -= 1
                if self._by_client[client] <= 0:
                    del self._by_client[client]

        return release

    def hold_for(self, events: AsyncIterator[str], release: Callable[[], None]) -> AsyncIterator[str]:
        """``events`` that give the slot back when they end or are dropped unstarted."""

        async def guarded() -> AsyncIterator[str]:
            try:
                async for event in events:
                    yield event
            finally:
                release()

        stream = guarded()
        weakref.finalize(stream, release)
        return stream
