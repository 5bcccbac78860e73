"""Refuse a caller that asks more often than its limit allows, before any work is done."""

from __future__ import annotations

import math

from ticketing.domain.errors import RateLimited
from ticketing.domain.ids import UserId
from ticketing.domain.rate_limits import Action, identity
from ticketing.services.ports import RateLimiter


async def within_limit(limiter: RateLimiter, action: Action, user: UserId | None, client_address: str) -> None:
    """Count this request against its user (or its address when anonymous). Raises
    RateLimited, with the seconds until the caller may try again, once over the limit."""
    wait_s = await limiter.hit(action, identity(user, client_address))
    if wait_s is not None:
        raise RateLimited(
            f"{action.value}: over this caller's limit", retry_after_s=max(1, math.ceil(wait_s)), action=action.value
        )
