"""What one benchmark run does and at which size: BENCH_SCALE scales every crowd, nothing else.

The full sizes are the ones the targets are stated for (80 and 1,000 buyers on one seat,
5,000 in a burst, 10,000 for 1,000 seats). A smoke run (BENCH_SCALE=0.1) keeps the same
shapes with a tenth of the people, so it finishes in a minute or two.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

GRID_COLS = 50  # seats per row of the generated grids; crowd sizes are rounded to fit whole rows
HOLD_GRID_COLS = 1000


@dataclass(frozen=True)
class QueuePlan:
    capacity: int
    pass_ttl_s: int
    admit_per_tick: int


@dataclass(frozen=True)
class SchedulePlan:
    rows: int
    cols: int
    queue: QueuePlan
    hold_ttl_s: int = 600
    max_seats_per_user: int = 1

    @property
    def seats(self) -> int:
        return self.rows * self.cols


@dataclass(frozen=True)
class Plan:
    scale: float
    contention_crowds: tuple[int, ...]
    burst_users: int
    pass_ttl_users: int
    sellout_users: int
    sellout_seats: int
    enter_tokens: int
    hold_users: int
    hold_seats_per_user: int
    hold_lost_users: int  # many enough that none of them meets the per-user hold rate limit, at any scale
    wrk_duration_s: int
    wrk_connections: int = 64
    wrk_threads: int = 2
    topology: str = "single"  # BENCH_TOPOLOGY: single (one process tree) or cluster (make cluster's)

    @classmethod
    def from_env(cls) -> Plan:
        scale = float(os.environ.get("BENCH_SCALE", "1"))
        if not 0 < scale <= 1:
            raise ValueError(f"BENCH_SCALE must be in (0, 1], got {scale}")
        topology = os.environ.get("BENCH_TOPOLOGY", "single")
        if topology not in ("single", "cluster"):
            raise ValueError(f"BENCH_TOPOLOGY must be single or cluster, got {topology!r}")

        def people(n: int, multiple: int = 1, minimum: int = 2) -> int:
            return max(minimum, math.ceil(n * scale / multiple) * multiple)

        return cls(
            scale=scale,
            contention_crowds=(people(80), people(1000)),
            burst_users=people(5000, multiple=GRID_COLS, minimum=GRID_COLS),
            # Half of them buy, one seat each: the seats fill whole rows.
            pass_ttl_users=people(800, multiple=2 * GRID_COLS, minimum=2 * GRID_COLS),
            sellout_users=people(10_000, multiple=GRID_COLS, minimum=10 * GRID_COLS),
            sellout_seats=people(1000, multiple=GRID_COLS, minimum=GRID_COLS),
            enter_tokens=people(80_000, minimum=1000),
            hold_users=people(6000, minimum=100),
            hold_seats_per_user=8,
            hold_lost_users=people(2000, minimum=2000),
            wrk_duration_s=int(os.environ.get("BENCH_WRK_DURATION_S", "10")),
            topology=topology,
        )

    @property
    def is_full_size(self) -> bool:
        return self.scale == 1

    # ---- the schedules each phase needs ----

    def warmup_schedule(self) -> SchedulePlan:
        return SchedulePlan(rows=1, cols=1, queue=QueuePlan(capacity=10, pass_ttl_s=60, admit_per_tick=10))

    def contention_schedule(self, crowd: int) -> SchedulePlan:
        # Everyone holds a pass before the load: capacity and one tick cover the whole crowd.
        return SchedulePlan(rows=1, cols=10, queue=QueuePlan(capacity=crowd, pass_ttl_s=600, admit_per_tick=crowd))

    def burst_schedule(self) -> SchedulePlan:
        # A real line: a fifth of the crowd at once, 100 people per 100 ms tick at most.
        capacity = max(10, self.burst_users // 5)
        queue = QueuePlan(capacity=capacity, pass_ttl_s=120, admit_per_tick=max(10, capacity // 10))
        return SchedulePlan(rows=self.burst_users // GRID_COLS, cols=GRID_COLS, queue=queue)

    def pass_ttl_schedule(self) -> SchedulePlan:
        # Short passes: the walkers' slots come back after 5 s.
        capacity = max(10, self.pass_ttl_users // 8)
        queue = QueuePlan(capacity=capacity, pass_ttl_s=5, admit_per_tick=max(5, capacity // 5))
        return SchedulePlan(rows=self.pass_ttl_users // 2 // GRID_COLS, cols=GRID_COLS, queue=queue)

    def sellout_schedule(self) -> SchedulePlan:
        capacity = max(20, self.sellout_seats * 3 // 10)
        queue = QueuePlan(capacity=capacity, pass_ttl_s=60, admit_per_tick=max(10, capacity // 6))
        return SchedulePlan(rows=self.sellout_seats // GRID_COLS, cols=GRID_COLS, queue=queue, hold_ttl_s=300)

    def million_schedule(self, admit_per_tick: int) -> SchedulePlan:
        # Capacity never binds: while admission runs, each tick admits admit_per_tick.
        return SchedulePlan(
            rows=1, cols=1, queue=QueuePlan(capacity=1_000_000, pass_ttl_s=600, admit_per_tick=admit_per_tick)
        )

    def enter_schedule(self) -> SchedulePlan:
        # Capacity 1: nobody leaves the line during the measurement, every request is a new entry.
        return SchedulePlan(rows=1, cols=1, queue=QueuePlan(capacity=1, pass_ttl_s=600, admit_per_tick=1))

    def hold_schedule(self) -> SchedulePlan:
        seats = self.hold_users * self.hold_seats_per_user
        queue = QueuePlan(capacity=self.hold_users, pass_ttl_s=900, admit_per_tick=self.hold_users)
        return SchedulePlan(
            rows=math.ceil(seats / HOLD_GRID_COLS),
            cols=HOLD_GRID_COLS,
            queue=queue,
            max_seats_per_user=self.hold_seats_per_user,
        )
