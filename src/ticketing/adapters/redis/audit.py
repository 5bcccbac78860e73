"""Read-only Redis reads for the invariant check: one atomic snapshot of a schedule (lua/live_state.lua)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ticketing.adapters.redis.keys import Keys
from ticketing.adapters.redis.replies import text
from ticketing.adapters.redis.scripts import Scripts
from ticketing.domain.ids import ScheduleId
from ticketing.domain.invariants import LiveState

NEVER_MS = 2**62  # stands in for an infinite pass score, which int() cannot hold


def _ticket(value: Any) -> int:
    # Tickets are ZSET scores copied into the list by advance.lua; Redis may print a large
    # score in exponent form ("1e+15"), which int() alone would refuse.
    return int(Decimal(text(value)))


def _pairs(flat: list[Any]) -> list[tuple[Any, Any]]:
    return list(zip(flat[::2], flat[1::2], strict=True))


class RedisAudit:
    def __init__(self, keys: Keys, scripts: Scripts) -> None:
        self._keys = keys
        self._scripts = scripts

    async def live_state(self, schedule_id: ScheduleId) -> LiveState:
        """One script: the clock, the pass set and the seat map are seen at the same instant.

        The admissions list can hold up to 1,000,000 tickets; reading it whole in one step
        costs one short pause of Redis, which an operator's check can afford, and avoids
        paging through a list that advance.lua may trim meanwhile.
        """
        k, s = self._keys, schedule_id
        seconds, micros, tickets, passes, states = await self._scripts.live_state(
            keys=[k.admissions(s), k.passes(s), k.seat_state(s)]
        )
        return LiveState(
            now_ms=int(seconds) * 1000 + int(micros) // 1000,
            admitted_tickets=tuple(_ticket(x) for x in tickets),
            pass_expiries_ms=tuple(int(min(float(text(score)), NEVER_MS)) for _, score in _pairs(passes)),
            seat_states={text(seat): text(state) for seat, state in _pairs(states)},
        )
