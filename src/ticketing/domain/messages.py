"""Messages between the API and the workers (Kafka topics); JSON-safe dicts on the wire."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, fields
from typing import Any, Self

CONFIRM_REQUESTED = "reservation.confirm-requested"
REFUND_REQUESTED = "payment.refund-requested"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


def new_event_id() -> str:
    """Identity of one message; consumers deduplicate on it."""
    return str(uuid.uuid4())


def partition_key(order_no: str) -> str:
    """The Kafka key of an order's messages. Only the messages of one order need their order
    kept (one partition); the orders of one schedule spread over every partition, so every
    consumer of the group shares a sellout instead of one taking the whole schedule."""
    return order_no


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A committed message waiting to be relayed to the broker."""

    id: int
    event_id: str
    topic: str
    key: str
    payload: dict[str, Any]
    attempts: int


class MalformedMessage(ValueError):
    """A message lacks a field or carries one of the wrong type: it can never be handled."""


_WIRE_TYPES: dict[str, type] = {"str": str, "int": int}


class WireMessage:
    """JSON-safe dict conversion for the message dataclasses below, checking field types."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload, no-any-return]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        values = {}
        for f in fields(cls):  # type: ignore[arg-type]
            value = data.get(f.name)
            expected = _WIRE_TYPES[str(f.type)]
            if not isinstance(value, expected) or isinstance(value, bool):
                raise MalformedMessage(f"{cls.__name__}.{f.name} must be {expected.__name__}, got {value!r}")
            values[f.name] = value
        return cls(**values)


@dataclass(frozen=True, slots=True)
class ConfirmRequested(WireMessage):
    """A hold was paid; the confirm consumer must confirm its seats or refund it."""

    event_id: str
    order_no: str
    hold_id: str
    schedule_id: int
    user_id: str

    @property
    def key(self) -> str:
        return partition_key(self.order_no)


@dataclass(frozen=True, slots=True)
class RefundRequested(WireMessage):
    """A paid hold lost its seats at the guard; the money goes back."""

    event_id: str
    order_no: str
    hold_id: str
    schedule_id: int
    user_id: str
    amount: str

    @property
    def key(self) -> str:
        return partition_key(self.order_no)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as a consumer received it; ``payload`` is None when it could not be decoded."""

    topic: str
    partition: int
    offset: int
    key: str | None
    raw: bytes | None
    payload: dict[str, Any] | None
    decode_error: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message a consumer could never handle, as the dead-letter topic keeps it."""

    topic: str  # the dead-letter topic
    partition: int
    offset: int
    original_topic: str
    consumer: str
    key: str
    raw: str
    error: str

    def replayable(self) -> dict[str, Any] | None:
        """The original payload, if it still decodes to a JSON object; replaying anything
        else would only dead-letter it again."""
        import json

        try:
            payload = json.loads(self.raw)
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None
