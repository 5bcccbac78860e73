"""Refuse a caller that asks more often than its limit allows, before any work is done."""

from __future__ import annotations

from ticketing.domain.ids import UserId
from ticketing.domain.rate_limits import Action, counted_as, identity, over_limit
from ticketing.services.ports import RateLimiter


async def within_limit(limiter: RateLimiter, action: Action, user: UserId | None, client_address: str) -> None:
    """Count this request against its user (or its address when anonymous). Raises
    RateLimited, with the seconds until the caller may try again, once over the limit."""
    action = counted_as(action, user)
    wait_ms = await limiter.hit(action, identity(user, client_address))
    if wait_ms > 0:
        raise over_limit(action, wait_ms)
