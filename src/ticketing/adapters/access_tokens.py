"""Bearer tokens (JWT): ``sub`` is the user id, ``role`` is ``user`` or ``admin``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from ticketing.adapters.token_cache import VerifiedCache
from ticketing.domain.errors import DependencyUnavailable, NotAuthenticated
from ticketing.domain.identity import Principal, Role
from ticketing.domain.ids import UserId

MAX_USER_ID_LEN = 64
MAX_TOKEN_LEN = 4096
JWKS_CACHE_S = 300


@dataclass(frozen=True, slots=True)
class TokenRules:
    """What a token must say besides its signature. ``audience`` / ``issuer``: checked when
    set; ``max_lifetime_s``: ``exp - iat`` at most this (``iat`` then required); ``leeway_s``:
    clock difference forgiven on ``exp``, ``nbf`` and ``iat``."""

    audience: str | None = None
    issuer: str | None = None
    max_lifetime_s: int | None = None
    leeway_s: int = 30


class AccessTokens:
    """Issues (HS256, dev and scripts) and verifies (HS256, or RS256 with a PEM key or an
    identity provider's JWKS URL) access tokens.

    A buyer sends the same token with every poll, hold and payment; verified tokens are
    remembered (bounded, and never past their own ``exp``) so the signature is checked once.
    """

    def __init__(
        self,
        secret: str,
        algorithm: str = "HS256",
        public_key: str | None = None,
        jwks_url: str | None = None,
        rules: TokenRules | None = None,
        jwks_timeout_s: float = 2.0,
    ) -> None:
        self._secret = secret
        self._algorithm = algorithm
        self._verify_key = public_key or secret
        self._rules = rules or TokenRules()
        # PyJWKClient fetches with urllib (blocking) on a key it has not seen, then caches the
        # key set: warm_up() fetches it before the first buyer, so a stampede finds it cached.
        self._jwks = (
            jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=JWKS_CACHE_S, timeout=int(max(1, jwks_timeout_s)))
            if jwks_url
            else None
        )
        self._verified = VerifiedCache[Principal]()

    def issue(self, user_id: str, role: Role = Role.USER, ttl: timedelta = timedelta(hours=12)) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {"sub": user_id, "role": role.value, "iat": now, "exp": now + ttl}
        if self._rules.audience:
            claims["aud"] = self._rules.audience
        if self._rules.issuer:
            claims["iss"] = self._rules.issuer
        return jwt.encode(claims, self._secret, algorithm=self._algorithm)

    def prefetch_keys(self) -> None:
        """Load the identity provider's key set now (no-op without a JWKS URL)."""
        if self._jwks is not None:
            self._jwks.get_jwk_set()

    def read(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        principal, expires_at = self._verify(token)
        self._verified.put(token, principal, expires_at)
        return principal

    def _key_for(self, token: str) -> Any:
        if self._jwks is None:
            return self._verify_key
        try:
            return self._jwks.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as exc:
            raise DependencyUnavailable("the identity provider's keys could not be fetched") from exc
        except jwt.PyJWTError as exc:
            raise NotAuthenticated("the bearer token is not signed by a known key") from exc

    def _verify(self, token: str) -> tuple[Principal, float]:
        if len(token) > MAX_TOKEN_LEN:
            raise NotAuthenticated("the bearer token is too long")
        rules = self._rules
        required = ["sub", "exp"]
        required += ["iat"] if rules.max_lifetime_s else []
        required += ["aud"] if rules.audience else []
        required += ["iss"] if rules.issuer else []
        try:
            claims = jwt.decode(
                token,
                self._key_for(token),
                algorithms=[self._algorithm],
                audience=rules.audience,
                issuer=rules.issuer,
                leeway=rules.leeway_s,
                options={"require": required},
            )
        except jwt.ExpiredSignatureError as exc:
            raise NotAuthenticated("the bearer token has expired") from exc
        except (jwt.InvalidAudienceError, jwt.InvalidIssuerError) as exc:
            raise NotAuthenticated("the bearer token is for another audience or issuer") from exc
        except jwt.PyJWTError as exc:
            raise NotAuthenticated("the bearer token is not valid") from exc
        if rules.max_lifetime_s and float(claims["exp"]) - float(claims["iat"]) > rules.max_lifetime_s:
            raise NotAuthenticated(f"the bearer token's lifetime exceeds {rules.max_lifetime_s} s")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > MAX_USER_ID_LEN:
            raise NotAuthenticated("the bearer token has no usable subject")
        try:
            role = Role(claims.get("role", Role.USER.value))
        except ValueError as exc:
            raise NotAuthenticated("the bearer token has an unknown role") from exc
        return Principal(UserId(sub), role), float(claims["exp"])
