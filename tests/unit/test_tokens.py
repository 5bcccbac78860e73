"""Access tokens and pass tokens: signatures, expiry, claims."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from ticketing.adapters.access_tokens import AccessTokens, TokenRules
from ticketing.adapters.pass_tokens import PassTokens
from ticketing.domain.errors import NotAuthenticated, PassExpired, PassInvalid, PassRequired
from ticketing.domain.identity import Role
from ticketing.domain.ids import ScheduleId, UserId

SECRET = "s" * 40


def test_access_token_round_trip_keeps_user_and_role() -> None:
    tokens = AccessTokens(SECRET)
    principal = tokens.read(tokens.issue("alice", Role.ADMIN))
    assert principal.user_id == "alice"
    assert principal.is_admin


def test_access_token_signed_with_another_secret_is_refused() -> None:
    token = AccessTokens("x" * 40).issue("alice")
    with pytest.raises(NotAuthenticated):
        AccessTokens(SECRET).read(token)


def test_expired_access_token_is_refused() -> None:
    # Without clock leeway (the default forgives 30 s; tests/security/test_tokens.py).
    tokens = AccessTokens(SECRET, rules=TokenRules(leeway_s=0))
    with pytest.raises(NotAuthenticated, match="expired"):
        tokens.read(tokens.issue("alice", ttl=timedelta(seconds=-1)))


def test_access_token_with_unknown_role_is_refused() -> None:
    token = jwt.encode({"sub": "a", "role": "root", "exp": datetime.now(UTC) + timedelta(hours=1)}, SECRET)
    with pytest.raises(NotAuthenticated, match="role"):
        AccessTokens(SECRET).read(token)


def test_pass_token_round_trip() -> None:
    tokens = PassTokens(SECRET)
    claims = tokens.read(tokens.issue(UserId("bob"), ScheduleId(7), datetime.now(UTC) + timedelta(minutes=1)))
    assert (claims.user, claims.schedule_id) == ("bob", 7)


def test_missing_pass_is_pass_required() -> None:
    with pytest.raises(PassRequired):
        PassTokens(SECRET).read(None)


def test_expired_pass_token_is_pass_expired() -> None:
    tokens = PassTokens(SECRET)
    with pytest.raises(PassExpired):
        tokens.read(tokens.issue(UserId("bob"), ScheduleId(7), datetime.now(UTC) - timedelta(seconds=5)))


def test_forged_pass_token_is_pass_invalid() -> None:
    forged = PassTokens("f" * 40).issue(UserId("bob"), ScheduleId(7), datetime.now(UTC) + timedelta(minutes=1))
    with pytest.raises(PassInvalid):
        PassTokens(SECRET).read(forged)


def test_access_token_is_not_a_pass_token() -> None:
    with pytest.raises(PassInvalid):
        PassTokens(SECRET).read(AccessTokens(SECRET).issue("bob"))
