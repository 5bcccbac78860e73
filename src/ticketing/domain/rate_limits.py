"""Rate limits: which requests are counted, per whom, and how a limit is written.

A limit counts one kind of request (an ``Action``) per identity: the user id from the token,
or the client address when the caller is anonymous (only the seat map may be read so); the
waiting room and holds count per identity and schedule. ``amount`` requests may come at once,
then one every ``interval_ms`` (a generic cell rate algorithm, in Redis). The
waiting-room status poll is limited by its pace as well (domain ``PollFloor``): a poll before
it is refused however few requests came before.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from ticketing.domain.errors import RateLimited
from ticketing.domain.ids import UserId


class Action(StrEnum):
    ENTER = "enter"
    STATUS = "status"
    HOLD = "hold"
    PAYMENT = "payment"
    SEAT_MAP = "seat_map"
    SEAT_MAP_ANONYMOUS = "seat_map_anonymous"  # no token: counted per client address


PERIODS_S = {"second": 1, "minute": 60, "hour": 3600}
RATE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(second|minute|hour)\s*$")


@dataclass(frozen=True, slots=True)
class Rate:
    """``amount`` requests per ``period_s`` seconds, written ``"10/second"`` or ``"600 per minute"``."""

    amount: int
    period_s: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        match = RATE.match(text)
        if match is None or int(match[1]) < 1:
            raise ValueError(f"a rate is N/second, N/minute or N/hour with N >= 1, not {text!r}")
        return cls(int(match[1]), PERIODS_S[match[2]])

    @property
    def interval_ms(self) -> float:
        """After a burst of ``amount``, one request per this many milliseconds."""
        return self.period_s * 1000 / self.amount

    def __str__(self) -> str:
        unit = next(name for name, seconds in PERIODS_S.items() if seconds == self.period_s)
        return f"{self.amount}/{unit}"


def identity(user: UserId | None, client_address: str) -> str:
    """Whom a request is counted against: its user, or its address when anonymous."""
    return f"user:{user}" if user is not None else f"addr:{client_address}"


def counted_as(action: Action, user: UserId | None) -> Action:
    """An anonymous seat-map read is counted under the per-address limit."""
    return Action.SEAT_MAP_ANONYMOUS if action is Action.SEAT_MAP and user is None else action


def over_limit(action: Action, wait_ms: int) -> RateLimited:
    """The refusal of a request over its limit, allowed again in ``wait_ms``."""
    retry_after_s = max(1, math.ceil(wait_ms / 1000))
    return RateLimited(f"{action.value}: over this caller's limit", retry_after_s=retry_after_s, action=action.value)
