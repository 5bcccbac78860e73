"""Counting a request against its caller's rate limit, from a handler or as a dependency."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request

from ticketing.api.client_address import ClientAddresses
from ticketing.api.dependencies import User
from ticketing.bootstrap import Resources
from ticketing.domain.errors import PollTooEarly, RateLimited
from ticketing.domain.identity import Principal
from ticketing.domain.ids import UserId
from ticketing.domain.rate_limits import Action
from ticketing.services.rate_limits import within_limit


def client_address(request: Request) -> str:
    addresses: ClientAddresses = request.app.state.client_addresses
    return addresses.of(request)


@contextmanager
def refusals(res: Resources, action: Action) -> Iterator[None]:
    """Counts the requests refused over a rate limit or before their poll pace."""
    try:
        yield
    except RateLimited:
        res.metrics.requests_refused_total.labels(action.value, "rate").inc()
        raise
    except PollTooEarly:
        res.metrics.requests_refused_total.labels(action.value, "pace").inc()
        raise


async def count(request: Request, action: Action, user: UserId | None) -> None:
    """For a request whose own work does not count it (its script does for enter, status and
    hold): raises RateLimited when ``user`` (or, anonymous, the client address) is over the limit."""
    res: Resources = request.app.state.resources
    with refusals(res, action):
        await within_limit(res.rate_limiter, action, user, client_address(request))


def counted(action: Action) -> Callable[[Request, Principal], Coroutine[Any, Any, None]]:
    """A dependency counting the request against its authenticated user."""

    async def dependency(request: Request, user: User) -> None:
        await count(request, action, user.user_id)

    return dependency
