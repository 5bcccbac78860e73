"""The one place Redis keys are built.

Every key of a schedule carries the hash tag ``{schedule_id}`` so that all keys of one
schedule live in one Redis Cluster slot and a multi-key Lua script on them stays legal.
A per-deployment (or per-test-run) prefix keeps runs apart on a shared Redis.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from ticketing.domain.ids import ScheduleId

PACE_BUCKETS = 16384


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = ""

    def queue(self, s: ScheduleId) -> str:
        return f"{self.prefix}queue:{{{s}}}"

    def queue_seq(self, s: ScheduleId) -> str:
        return f"{self.prefix}queue:seq:{{{s}}}"

    def passes(self, s: ScheduleId) -> str:
        return f"{self.prefix}queue:pass:z:{{{s}}}"

    def queue_rate(self, s: ScheduleId) -> str:
        return f"{self.prefix}queue:rate:{{{s}}}"

    def queue_pace(self, s: ScheduleId, user: str) -> str:
        """HASH user -> the earliest (Redis ms) a waiting user may ask again (lua/lib/pace.lua),
        one of PACE_BUCKETS per schedule by a hash of the user. Small hashes are stored packed
        (a listpack: ~25 bytes a user) where one big hash costs ~66 bytes a user; a line of a
        million fills each bucket to about 61 users, below Redis' 128-entry packing limit."""
        return f"{self.prefix}queue:pace:{{{s}}}:{zlib.crc32(user.encode()) % PACE_BUCKETS}"

    def queue_pace_buckets(self, s: ScheduleId) -> str:
        """Glob matching every pace bucket of the schedule."""
        return f"{self.prefix}queue:pace:{{{s}}}:*"

    def rate(self, action: str, identity: str, s: ScheduleId | None = None) -> str:
        """STRING (with a TTL): an identity's rate-limit state for one action (lua/lib/rate.lua),
        in the schedule's slot when the action belongs to one."""
        if s is None:
            return f"{self.prefix}rate:{action}:{{{identity}}}"
        return f"{self.prefix}rate:{{{s}}}:{action}:{identity}"

    def seat_lock(self, s: ScheduleId, seat_no: str) -> str:
        return f"{self.prefix}seat:lock:{{{s}}}:{seat_no}"

    def hold_void(self, s: ScheduleId, hold_id: str) -> str:
        """STRING (with a TTL) naming a hold id that must never take seats: its request gave
        up waiting for Redis, and the lock script may still run after the release did."""
        return f"{self.prefix}hold:void:{{{s}}}:{hold_id}"

    def user_holds(self, s: ScheduleId, user: str) -> str:
        """ZSET of a user's holds in one schedule (for the per-user seat limit)."""
        return f"{self.prefix}holds:user:{{{s}}}:{user}"

    def admissions(self, s: ScheduleId) -> str:
        """LIST of admitted ticket numbers in admission order (the FIFO audit trail)."""
        return f"{self.prefix}queue:admitted:{{{s}}}"

    def queue_events(self, s: ScheduleId) -> str:
        """Pub/sub channel: after each tick that admitted someone, the last ticket admitted."""
        return f"{self.prefix}queue:events:{{{s}}}"

    def outbox_wake(self) -> str:
        """Pub/sub channel: a new outbox row was committed; relays wake up at once."""
        return f"{self.prefix}outbox:wake"

    def seat_state(self, s: ScheduleId) -> str:
        return f"{self.prefix}seat:state:{{{s}}}"

    def seat_intact(self, s: ScheduleId) -> str:
        """STRING present while Redis holds the schedule's whole seat state (locks, SOLD marks,
        per-user counts). Written when the schedule is created and after a rebuild from the
        database; a Redis that lost its data (a flush, a restart, a failover to an empty
        replica) lacks it, and holds are refused until the reconciler has rebuilt the state."""
        return f"{self.prefix}seat:intact:{{{s}}}"

    def seats_sold(self, s: ScheduleId) -> str:
        """STRING: how many of the schedule's seats are shown SOLD (lua/lib/sold_out.lua)."""
        return f"{self.prefix}seat:sold:{{{s}}}"

    def seat_count(self, s: ScheduleId) -> str:
        """STRING: the schedule's number of seats (written with its seat state)."""
        return f"{self.prefix}seat:count:{{{s}}}"

    def queue_sold_out(self, s: ScheduleId) -> str:
        """STRING present while the line is closed because every seat is sold (told once)."""
        return f"{self.prefix}queue:sold-out:{{{s}}}"

    def seat_events(self, s: ScheduleId) -> str:
        return f"{self.prefix}seat:events:{{{s}}}"

    def of_schedule(self, s: ScheduleId) -> list[str]:
        """Every key of one schedule with a fixed name (the line, the passes, the seat state)."""
        return [
            self.queue(s),
            self.queue_seq(s),
            self.passes(s),
            self.queue_rate(s),
            self.admissions(s),
            self.queue_sold_out(s),
            self.seat_state(s),
            self.seat_intact(s),
            self.seats_sold(s),
            self.seat_count(s),
        ]

    def of_schedule_per_member(self, s: ScheduleId) -> list[str]:
        """Globs of one schedule's keys named per user, seat or hold (most expire by themselves;
        a user's holds ZSET keeps its sold seats until the schedule's state is released)."""
        return [
            self.queue_pace_buckets(s),
            f"{self.prefix}holds:user:{{{s}}}:*",
            f"{self.prefix}seat:lock:{{{s}}}:*",
            f"{self.prefix}hold:void:{{{s}}}:*",
            f"{self.prefix}rate:{{{s}}}:*",
        ]

    def registry(self) -> str:
        """HASH schedule id -> queue policy of every schedule on sale (the advancer's work list)."""
        return f"{self.prefix}queue:registry"

    def pattern(self) -> str:
        """Glob matching every key of this prefix (used by tests to clean up their own keys)."""
        return f"{self.prefix}*"
