"""Counting a request against its caller's rate limit, from a handler or as a dependency."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request

from ticketing.api.client_address import ClientAddresses
from ticketing.api.dependencies import User
from ticketing.bootstrap import Resources
from ticketing.domain.errors import TooManyRequests
from ticketing.domain.identity import Principal
from ticketing.domain.ids import UserId
from ticketing.domain.rate_limits import Action
from ticketing.services.rate_limits import within_limit


def client_address(request: Request) -> str:
    addresses: ClientAddresses = request.app.state.client_addresses
    return addresses.of(request)


async def count(request: Request, action: Action, user: UserId | None) -> None:
    """Raises RateLimited when ``user`` (or, anonymous, the client address) is over the limit."""
    res: Resources = request.app.state.resources
    try:
        await within_limit(res.rate_limiter, action, user, client_address(request))
    except TooManyRequests:
        res.metrics.requests_refused_total.labels(action.value, "rate").inc()
        raise


def counted(action: Action) -> Callable[[Request, Principal], Coroutine[Any, Any, None]]:
    """A dependency counting the request against its authenticated user."""

    async def dependency(request: Request, user: User) -> None:
        await count(request, action, user.user_id)

    return dependency
