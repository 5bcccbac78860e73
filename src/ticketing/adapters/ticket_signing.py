"""Signed tickets: a compact EdDSA (Ed25519) JWT per confirmed seat.

The service signs with its private key; a door scanner holding only the public key verifies
a ticket offline (``ticketing verify-ticket``), and asks the service online whether the
reservation is still confirmed (``POST /api/v1/tickets/verify``). The signature proves the
ticket was issued for that seat and buyer; only the online check can tell a refund since.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ticketing.domain.errors import TicketInvalid
from ticketing.domain.ids import ScheduleId, SeatNo, UserId
from ticketing.domain.tickets import TicketClaims

ALGORITHM = "EdDSA"
TICKET_TYPE = "ticket"  # the "typ" claim: a bearer token or a pass signed by mistake is not a ticket


def public_key_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the ticket signing key must be an Ed25519 private key")
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return public.decode()


class TicketVerifier:
    """Checks tickets with the public key only (what a door scanner holds)."""

    def __init__(self, public_pem: str) -> None:
        key = serialization.load_pem_public_key(public_pem.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the ticket public key must be an Ed25519 public key")
        self._key = key
        self.public_pem = public_pem

    def read(self, token: str) -> TicketClaims:
        """Raises TicketInvalid (malformed, not signed by this key, or not a ticket)."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=[ALGORITHM], options={"require": ["sub", "tid", "sch", "seat", "iat"]}
            )
        except jwt.PyJWTError as exc:
            raise TicketInvalid(str(exc)) from None
        if claims.get("typ") != TICKET_TYPE:
            raise TicketInvalid("not a ticket")
        try:
            return TicketClaims(
                reservation_id=int(claims["tid"]),
                schedule_id=ScheduleId(int(claims["sch"])),
                seat_no=SeatNo(str(claims["seat"])),
                user=UserId(str(claims["sub"])),
                issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
            )
        except (TypeError, ValueError):
            raise TicketInvalid("malformed claims") from None


class TicketSigner(TicketVerifier):
    """Issues tickets with the private key (and verifies them like any scanner)."""

    def __init__(self, private_pem: str) -> None:
        super().__init__(public_key_pem(private_pem))
        self._private = serialization.load_pem_private_key(private_pem.encode(), password=None)

    def sign(self, ticket: TicketClaims) -> str:
        claims = {
            "typ": TICKET_TYPE,
            "sub": ticket.user,
            "tid": ticket.reservation_id,
            "sch": ticket.schedule_id,
            "seat": ticket.seat_no,
            "iat": int(ticket.issued_at.timestamp()),
        }
        return jwt.encode(claims, self._private, algorithm=ALGORITHM)  # type: ignore[arg-type]
