"""Signed waiting-room pass tokens (JWT): who, for which schedule, until when."""

from __future__ import annotations

from datetime import datetime

import jwt

from ticketing.adapters.token_cache import VerifiedCache
from ticketing.domain.errors import PassExpired, PassInvalid, PassRequired
from ticketing.domain.ids import ScheduleId, UserId
from ticketing.domain.waiting_room import PassClaims

AUDIENCE = "queue-pass"


class PassTokens:
    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._verified = VerifiedCache[PassClaims]()

    def issue(self, user: UserId, schedule_id: ScheduleId, expires_at: datetime) -> str:
        claims = {"sub": user, "sch": int(schedule_id), "exp": expires_at, "aud": AUDIENCE}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def read(self, token: str | None) -> PassClaims:
        """Verify the signature and expiry; raises PassRequired, PassExpired or PassInvalid."""
        if not token:
            raise PassRequired()
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                options={"require": ["sub", "sch", "exp"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise PassExpired() from exc
        except jwt.PyJWTError as exc:
            raise PassInvalid("the pass token is malformed or its signature does not match") from exc
        if not isinstance(claims["sub"], str) or not isinstance(claims["sch"], int):
            raise PassInvalid("the pass token has malformed claims")
        verified = PassClaims(UserId(claims["sub"]), ScheduleId(claims["sch"]))
        self._verified.put(token, verified, float(claims["exp"]))
        return verified
