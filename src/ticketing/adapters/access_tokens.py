"""Bearer tokens (JWT): ``sub`` is the user id, ``role`` is ``user`` or ``admin``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from ticketing.adapters.token_cache import VerifiedCache
from ticketing.domain.errors import NotAuthenticated
from ticketing.domain.identity import Principal, Role
from ticketing.domain.ids import UserId

MAX_USER_ID_LEN = 64


class AccessTokens:
    """Issues (HS256, dev and scripts) and verifies (HS256 or RS256) access tokens.

    A buyer sends the same token with every poll, hold and payment; verified tokens are
    remembered (bounded, until their own expiry) so the signature is checked once.
    """

    def __init__(self, secret: str, algorithm: str = "HS256", public_key: str | None = None) -> None:
        self._secret = secret
        self._algorithm = algorithm
        self._verify_key = public_key or secret
        self._verified = VerifiedCache[Principal]()

    def issue(self, user_id: str, role: Role = Role.USER, ttl: timedelta = timedelta(hours=12)) -> str:
        now = datetime.now(UTC)
        claims = {"sub": user_id, "role": role.value, "iat": now, "exp": now + ttl}
        return jwt.encode(claims, self._secret, algorithm=self._algorithm)

    def read(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        principal, expires_at = self._verify(token)
        self._verified.put(token, principal, expires_at)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token, self._verify_key, algorithms=[self._algorithm], options={"require": ["sub", "exp"]}
            )
        except jwt.ExpiredSignatureError as exc:
            raise NotAuthenticated("the bearer token has expired") from exc
        except jwt.PyJWTError as exc:
            raise NotAuthenticated("the bearer token is not valid") from exc
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > MAX_USER_ID_LEN:
            raise NotAuthenticated("the bearer token has no usable subject")
        try:
            role = Role(claims.get("role", Role.USER.value))
        except ValueError as exc:
            raise NotAuthenticated("the bearer token has an unknown role") from exc
        return Principal(UserId(sub), role), float(claims["exp"])
