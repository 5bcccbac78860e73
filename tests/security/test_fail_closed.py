"""Fail closed: the API and the workers do not start on the built-in development secrets
or with the fake payment provider unless development mode is asked for explicitly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ticketing.settings import Settings

REAL = {
    "TICKETING_JWT_SECRET": "j" * 40,
    "TICKETING_PASS_TOKEN_SECRET": "p" * 40,
    "TICKETING_WEBHOOK_SECRET": "w" * 40,
    "TICKETING_FAKE_PAYMENTS_ENABLED": "false",
    "TICKETING_DEV_LOGIN_ENABLED": "false",
    "TICKETING_TICKET_SIGNING_KEY": (
        "-----BEGIN PRIVATE KEY-----\n"
        "MC4CAQAwBQYDK2VwBCIEICgtrqlw88uggXsljS5Euil0SUfELsMakRbGkL3MZwHx\n"
        "-----END PRIVATE KEY-----\n"
    ),
}


def ticketing(args: list[str], env: dict[str, str], timeout_s: float = 20) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TICKETING_")} | env
    argv = [sys.executable, "-m", "ticketing.cli", *args]
    return subprocess.run(argv, check=False, env=clean, capture_output=True, text=True, timeout=timeout_s)


@pytest.mark.parametrize("args", [["api"], ["worker", "queue-advancer"]])
@pytest.mark.parametrize(
    "unsafe",
    [
        {},  # every default: the built-in secrets and the fake provider
        {**REAL, "TICKETING_JWT_SECRET": ""},  # one built-in secret left (empty: the default)
        {**REAL, "TICKETING_FAKE_PAYMENTS_ENABLED": "true"},
        {**REAL, "TICKETING_DEV_LOGIN_ENABLED": "true"},
    ],
)
def test_api_and_workers_refuse_development_defaults_unless_asked(args: list[str], unsafe: dict[str, str]) -> None:
    env = {k: v for k, v in unsafe.items() if v}
    done = ticketing(args, env)
    assert done.returncode != 0
    assert "TICKETING_ENVIRONMENT=development" in done.stderr, done.stderr[-2000:]


def test_what_counts_as_development_only() -> None:
    real = {k.removeprefix("TICKETING_").lower(): v for k, v in REAL.items()}
    assert Settings(environment="production", **real).development_only() == []
    assert Settings(environment="development", **real).development_only() == []
    found = Settings(environment="development").development_only()
    assert [x.split()[0] for x in found] == [
        "TICKETING_JWT_SECRET",
        "TICKETING_PASS_TOKEN_SECRET",
        "TICKETING_WEBHOOK_SECRET",
        "TICKETING_TICKET_SIGNING_KEY",
        "TICKETING_FAKE_PAYMENTS_ENABLED",
        "TICKETING_DEV_LOGIN_ENABLED",
    ]
