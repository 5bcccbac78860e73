"""Loads the Lua scripts in ``lua/`` once; calls go out as EVALSHA (redis-py reloads on NOSCRIPT),
on one Redis server those of one event-loop turn in one round trip (``round_trips.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from ticketing.adapters.redis.client import RedisClient
from ticketing.adapters.redis.round_trips import RoundTrips, SharedScript

Script = AsyncScript | SharedScript


def _source(name: str) -> str:
    """A script's text, with each ``-- include: NAME`` line replaced by ``lua/lib/NAME.lua``."""
    lua = resources.files("ticketing.adapters.redis") / "lua"
    lines = (lua / f"{name}.lua").read_text().splitlines(keepends=True)
    return "".join(
        (lua / "lib" / f"{line.removeprefix(INCLUDE).strip()}.lua").read_text() if line.startswith(INCLUDE) else line
        for line in lines
    )


INCLUDE = "-- include: "


@dataclass(frozen=True, slots=True)
class Scripts:
    enter: Script
    status: Script
    leave: Script
    advance: Script
    pass_alive: Script
    hold: Script
    release: Script
    extend: Script
    sell: Script
    mark_sold: Script
    restore: Script
    rate: Script
    live_state: Script

    @classmethod
    def register(cls, redis: RedisClient, share_round_trips: bool = False) -> Scripts:
        """With ``share_round_trips`` (one Redis server only), the calls of a turn share one."""
        trips = RoundTrips(redis) if share_round_trips and isinstance(redis, Redis) else None
        registered = {name: redis.register_script(_source(name)) for name in cls.__dataclass_fields__}
        if trips is None:
            return cls(**registered)
        return cls(**{name: SharedScript(script, trips) for name, script in registered.items()})

    async def load_all(self, redis: RedisClient) -> None:
        """SCRIPT LOAD every script now, so no first call pays for a NOSCRIPT round trip."""
        for name in self.__dataclass_fields__:
            script: Script = getattr(self, name)
            await redis.script_load(script.script)
