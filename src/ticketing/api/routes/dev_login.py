"""Development-only sign-in: a bearer token for any user name, for the demo pages and curl.

Mounted only when ``TICKETING_DEV_LOGIN_ENABLED`` is true; production refuses that setting
and expects tokens from the organiser's identity provider (RS256 via a public key or JWKS).
"""

from __future__ import annotations

from fastapi import APIRouter

from ticketing.api.dependencies import Res
from ticketing.api.schemas import DevLoginIn, TokenOut
from ticketing.domain.identity import Role

router = APIRouter(prefix="/api/v1/dev", tags=["development"])


@router.post("/login", response_model=TokenOut)
async def dev_login(body: DevLoginIn, res: Res) -> TokenOut:
    """A token for ``user_id`` (an organiser's with ``admin``): anyone may be anyone here."""
    role = Role.ADMIN if body.admin else Role.USER
    return TokenOut(access_token=res.access_tokens.issue(body.user_id, role))
