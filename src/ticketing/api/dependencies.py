"""Request-scoped access to the resources built by bootstrap, and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from ticketing.api.schemas import MAX_ID
from ticketing.bootstrap import Resources
from ticketing.domain.errors import AdminRequired, NotAuthenticated
from ticketing.domain.identity import Principal

# Every dependency is ``async def``: FastAPI runs plain ``def`` dependencies in a thread
# pool, which costs a thread hop per request on the hottest paths.


async def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


def authenticate(request: Request) -> Principal:
    """The caller, from the bearer token only (never from a body or query)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated()
    resources: Resources = request.app.state.resources
    return resources.access_tokens.read(token.strip())


async def current_user(request: Request) -> Principal:
    return authenticate(request)


async def admin_user(user: Annotated[Principal, Depends(current_user)]) -> Principal:
    if not user.is_admin:
        raise AdminRequired()
    return user


Res = Annotated[Resources, Depends(get_resources)]
User = Annotated[Principal, Depends(current_user)]
Admin = Annotated[Principal, Depends(admin_user)]
ScheduleIdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
EventIdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
