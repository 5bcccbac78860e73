"""Retrying a transaction that MariaDB rolled back for a deadlock or a lock-wait timeout."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from ticketing.adapters.sql.errors import transient_reason

T = TypeVar("T")
OnRetry = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a transaction is run again after a deadlock or lock-wait timeout."""

    attempts: int = 8
    base_delay_s: float = 0.02
    on_retry: OnRetry | None = None

    async def run(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` (one whole transaction); after a deadlock or lock-wait timeout,
        wait a jittered, doubling delay (full jitter, so the transactions that collided do
        not collide again in step) and run it again, at most ``attempts`` times in all."""
        for n in range(1, self.attempts + 1):
            try:
                return await attempt()
            except DBAPIError as exc:
                reason = transient_reason(exc)
                if reason is None or n == self.attempts:
                    raise
                if self.on_retry is not None:
                    self.on_retry(reason)
                await asyncio.sleep(random.uniform(0, self.base_delay_s * 2 ** (n - 1)))
        raise AssertionError("unreachable")  # pragma: no cover
