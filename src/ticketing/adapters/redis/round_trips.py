"""Script calls made in the same turn of the event loop share one Redis round trip.

Under a stampede an API process has dozens of requests in flight, and each makes one script
call. redis-py spends more CPU on a call's bookkeeping than on its bytes: taking a pooled
connection and giving it back (a condition, a timeout, its observability hooks), the retry
wrapper, a write of its own. So the calls of one turn are collected and, at the end of the
turn, sent as one pipeline: one connection taken, one write, the replies read in order and
each handed to its caller. No transaction: each script is atomic on its own, and nothing
relates the calls of different requests. A call alone in its turn goes out as a call.

Every caller gets its own reply or its own error (a script's error reply is that call's
alone). A connection that fails under the round trip fails every call in it, as it would
have failed each of them; a caller that stopped waiting (a cancelled request) may still see
its script run, as before: the hold path is built for that (``services/abandoned_holds.py``).
A script Redis no longer knows (NOSCRIPT: the server restarted) is sent again on its own,
which loads it.

Only for one Redis server: on a Redis Cluster the calls of a turn belong to many slots, and
the cluster client keeps its own per-node order of calls (``client.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

Arg = str | bytes | int | float


@dataclass(slots=True)
class _Call:
    script: AsyncScript
    keys: Sequence[str]
    args: Sequence[Arg]
    reply: asyncio.Future[Any]

    def settle(self, reply: Any) -> None:
        if self.reply.done():  # its caller stopped waiting
            return
        if isinstance(reply, BaseException):
            self.reply.set_exception(reply)
        else:
            self.reply.set_result(reply)


class RoundTrips:
    """Collects the script calls of a turn and sends them together."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._turn: list[_Call] | None = None
        self._sending: set[asyncio.Task[None]] = set()  # referenced until done

    async def call(self, script: AsyncScript, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        loop = asyncio.get_running_loop()
        call = _Call(script, keys, args, loop.create_future())
        if self._turn is None:
            self._turn = []
            loop.call_soon(self._end_of_turn)  # after every callback already ready in this turn
        self._turn.append(call)
        return await call.reply

    def _end_of_turn(self) -> None:
        calls, self._turn = self._turn or [], None
        task = asyncio.ensure_future(self._send(calls))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, calls: list[_Call]) -> None:
        if len(calls) == 1:
            await _alone(calls[0])
            return
        pipe = self._redis.pipeline(transaction=False)
        for c in calls:
            pipe.evalsha(c.script.sha, len(c.keys), *c.keys, *c.args)
        try:
            replies = await pipe.execute(raise_on_error=False)
        except BaseException as exc:
            for c in calls:
                c.settle(exc)
            if not isinstance(exc, Exception):
                raise
            return
        again = []
        for c, reply in zip(calls, replies, strict=True):
            if isinstance(reply, NoScriptError):
                again.append(_alone(c))
            else:
                c.settle(reply)
        if again:
            await asyncio.gather(*again)


async def _alone(call: _Call) -> None:
    try:
        reply = await call.script(keys=call.keys, args=call.args)
    except BaseException as exc:
        call.settle(exc)
        if not isinstance(exc, Exception):
            raise
        return
    call.settle(reply)


class SharedScript:
    """A registered script whose calls go through ``RoundTrips``; called like the script itself."""

    def __init__(self, registered: AsyncScript, trips: RoundTrips) -> None:
        self.registered = registered
        self.script = registered.script  # the source, as on the registered script
        self._trips = trips

    async def __call__(self, keys: Sequence[str], args: Sequence[Arg] = ()) -> Any:
        return await self._trips.call(self.registered, keys, args)
