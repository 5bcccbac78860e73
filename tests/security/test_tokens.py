"""Bearer tokens: forged, unsigned, expired, foreign or over-long tokens are refused; an
external identity provider's RS256 tokens are checked against its JWKS."""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ticketing.adapters.access_tokens import AccessTokens, TokenRules
from ticketing.domain.errors import NotAuthenticated

SECRET = "s" * 40


def claims(**extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"sub": "alice", "iat": now, "exp": now + timedelta(minutes=10)} | extra


def refused(tokens: AccessTokens, token: str) -> str:
    with pytest.raises(NotAuthenticated) as caught:
        tokens.read(token)
    return str(caught.value)


def test_audience_and_issuer_are_checked_when_configured() -> None:
    tokens = AccessTokens(SECRET, rules=TokenRules(audience="ticketing", issuer="https://id.example"))
    good = jwt.encode(claims(aud="ticketing", iss="https://id.example"), SECRET, algorithm="HS256")
    assert tokens.read(good).user_id == "alice"
    for bad in (
        claims(aud="another-app", iss="https://id.example"),
        claims(aud="ticketing", iss="https://evil.example"),
        claims(),  # neither
    ):
        refused(tokens, jwt.encode(bad, SECRET, algorithm="HS256"))


def test_a_token_living_longer_than_the_maximum_is_refused() -> None:
    tokens = AccessTokens(SECRET, rules=TokenRules(max_lifetime_s=3600))
    now = datetime.now(UTC)
    long_lived = jwt.encode(claims(iat=now, exp=now + timedelta(days=30)), SECRET, algorithm="HS256")
    assert "lifetime" in refused(tokens, long_lived)
    no_iat = jwt.encode({"sub": "alice", "exp": now + timedelta(minutes=5)}, SECRET, algorithm="HS256")
    refused(tokens, no_iat)


def test_clock_leeway_accepts_a_token_just_past_its_expiry_only() -> None:
    tokens = AccessTokens(SECRET, rules=TokenRules(leeway_s=30))
    now = datetime.now(UTC)
    just = jwt.encode(claims(iat=now - timedelta(minutes=5), exp=now - timedelta(seconds=10)), SECRET, "HS256")
    long_ago = jwt.encode(claims(iat=now - timedelta(minutes=5), exp=now - timedelta(seconds=60)), SECRET, "HS256")
    assert tokens.read(just).user_id == "alice"
    assert "expired" in refused(tokens, long_ago)


def test_a_remembered_token_is_forgotten_at_its_expiry() -> None:
    tokens = AccessTokens(SECRET, rules=TokenRules(leeway_s=0))
    now = datetime.now(UTC)
    short = jwt.encode(claims(exp=now + timedelta(seconds=1)), SECRET, algorithm="HS256")
    assert tokens.read(short).user_id == "alice"
    time.sleep(1.2)
    assert "expired" in refused(tokens, short)


def test_forged_unsigned_and_other_algorithm_tokens_are_refused() -> None:
    tokens = AccessTokens(SECRET)
    refused(tokens, jwt.encode(claims(), "x" * 40, algorithm="HS256"))
    refused(tokens, jwt.encode(claims(), None, algorithm="none"))  # type: ignore[arg-type]
    with warnings.catch_warnings():  # PyJWT warns that 40 bytes are short for HS512: that is the point
        warnings.simplefilter("ignore")
        refused(tokens, jwt.encode(claims(), SECRET, algorithm="HS512"))
    refused(tokens, "not-a-token")


class JwksServer:
    """An identity provider's JWKS endpoint on loopback."""

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        body = json.dumps({"keys": keys}).encode()
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks(signing_key: rsa.RSAPrivateKey) -> Iterator[JwksServer]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    server = JwksServer([public | {"kid": "key-1", "use": "sig", "alg": "RS256"}])
    yield server
    server.close()


def test_rs256_tokens_are_verified_against_the_identity_providers_jwks(
    jwks: JwksServer, signing_key: rsa.RSAPrivateKey
) -> None:
    tokens = AccessTokens(SECRET, algorithm="RS256", jwks_url=jwks.url, rules=TokenRules(audience="ticketing"))
    good = jwt.encode(claims(aud="ticketing"), signing_key, algorithm="RS256", headers={"kid": "key-1"})
    assert tokens.read(good).user_id == "alice"
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims(aud="ticketing"), other_key, algorithm="RS256", headers={"kid": "key-1"})
    refused(tokens, forged)
    unknown_kid = jwt.encode(claims(aud="ticketing"), signing_key, algorithm="RS256", headers={"kid": "key-9"})
    refused(tokens, unknown_kid)
    hs = jwt.encode(claims(aud="ticketing"), SECRET, algorithm="HS256")
    refused(tokens, hs)  # an RS256 deployment never accepts a shared-secret token


async def test_bad_tokens_get_401_problem_json_over_http(client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    for token in (
        jwt.encode(claims(), "x" * 40, algorithm="HS256"),
        jwt.encode(claims(), None, algorithm="none"),  # type: ignore[arg-type]
        jwt.encode(claims(iat=now - timedelta(hours=2), exp=now - timedelta(hours=1)), "x" * 40, "HS256"),
        "a" * 5000,
    ):
        r = await client.get("/api/v1/me/reservations", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "NOT_AUTHENTICATED"
