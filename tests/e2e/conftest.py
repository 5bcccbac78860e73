"""The ASGI app with its lifespan entered, driven in-process over httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from ticketing.api.app import create_app
from ticketing.bootstrap import Resources
from ticketing.domain.identity import Role
from ticketing.settings import Settings


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def app_res(app: FastAPI) -> Resources:
    resources: Resources = app.state.resources
    return resources


@pytest.fixture
def auth(app_res: Resources) -> Callable[..., dict[str, str]]:
    def headers(user: str = "alice", admin: bool = False) -> dict[str, str]:
        token = app_res.access_tokens.issue(user, Role.ADMIN if admin else Role.USER)
        return {"Authorization": f"Bearer {token}"}

    return headers
