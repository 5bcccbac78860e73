"""Production mode refuses development secrets, the fake payment provider and the development sign-in."""

import pytest
from pydantic import ValidationError

from ticketing.settings import Settings

SAFE = {
    "jwt_secret": "a" * 40,
    "pass_token_secret": "b" * 40,
    "webhook_secret": "c" * 40,
    "fake_payments_enabled": False,
    "dev_login_enabled": False,
    "ticket_signing_key": (
        "-----BEGIN PRIVATE KEY-----\n"
        "MC4CAQAwBQYDK2VwBCIEICgtrqlw88uggXsljS5Euil0SUfELsMakRbGkL3MZwHx\n"
        "-----END PRIVATE KEY-----\n"
    ),
}


def test_development_mode_starts_with_defaults() -> None:
    assert not Settings().is_production


def test_production_mode_starts_with_real_secrets() -> None:
    assert Settings(environment="production", **SAFE).is_production


@pytest.mark.parametrize("field", ["jwt_secret", "pass_token_secret", "webhook_secret", "ticket_signing_key"])
def test_production_mode_refuses_each_development_secret(field: str) -> None:
    values = {k: v for k, v in SAFE.items() if k != field}
    with pytest.raises(ValidationError, match=r"development (secret|key)"):
        Settings(environment="production", **values)


def test_production_mode_refuses_the_fake_payment_provider() -> None:
    with pytest.raises(ValidationError, match="FAKE_PAYMENTS"):
        Settings(environment="production", **{**SAFE, "fake_payments_enabled": True})


def test_production_mode_refuses_the_development_sign_in() -> None:
    with pytest.raises(ValidationError, match="DEV_LOGIN"):
        Settings(environment="production", **{**SAFE, "dev_login_enabled": True})


def test_a_signing_key_on_one_line_is_read_as_its_pem() -> None:
    pem = str(SAFE["ticket_signing_key"])
    one_line = pem.replace("\n", "\\n")  # as an .env file holds it
    assert "\n" not in one_line
    assert Settings(ticket_signing_key=one_line).ticket_signing_key == pem


def test_settings_read_the_ticketing_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETING_API_PORT", "9123")
    assert Settings().api_port == 9123
