"""Message bytes on the wire: compact JSON, UTF-8."""

from __future__ import annotations

import json
from typing import Any


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def decode(raw: bytes | None) -> dict[str, Any]:
    if not raw:
        raise ValueError("empty message")
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("message is not a JSON object")
    return value
