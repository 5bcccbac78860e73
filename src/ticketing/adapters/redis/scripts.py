"""Loads the Lua scripts in ``lua/`` once; calls go out as EVALSHA (redis-py reloads on NOSCRIPT)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from redis.commands.core import AsyncScript

from ticketing.adapters.redis.client import RedisClient


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
    enter: AsyncScript
    status: AsyncScript
    leave: AsyncScript
    advance: AsyncScript
    pass_alive: AsyncScript
    hold: AsyncScript
    release: AsyncScript
    extend: AsyncScript
    sell: AsyncScript
    mark_sold: AsyncScript
    restore: AsyncScript
    rate: AsyncScript
    live_state: AsyncScript

    @classmethod
    def register(cls, redis: RedisClient) -> Scripts:
        return cls(**{name: redis.register_script(_source(name)) for name in cls.__dataclass_fields__})

    async def load_all(self, redis: RedisClient) -> None:
        """SCRIPT LOAD every script now, so no first call pays for a NOSCRIPT round trip."""
        for name in self.__dataclass_fields__:
            script: AsyncScript = getattr(self, name)
            await redis.script_load(script.script)
