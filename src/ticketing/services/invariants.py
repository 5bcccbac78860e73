"""Invariant check use case: verify design section 7 for one schedule against the database and Redis."""

from __future__ import annotations

from ticketing.domain.errors import ScheduleNotFound
from ticketing.domain.ids import ScheduleId
from ticketing.domain.invariants import AuditReport, CheckPolicy, check_all
from ticketing.services.ports import InvariantRecords, LiveStateReader


async def check_invariants(
    records: InvariantRecords, live: LiveStateReader, schedule_id: ScheduleId, policy: CheckPolicy
) -> AuditReport:
    """Report every broken invariant of one schedule (an empty report means all hold).

    Read-only and idempotent: it changes nothing, so it may run during a sale. The database
    rows come from one consistent snapshot, read before Redis: whatever moved on while the
    check ran shows up as newer in Redis, and work younger than ``policy.grace`` counts as
    in flight, not stuck. Raises ScheduleNotFound.
    """
    stored = await records.records(schedule_id)
    if stored is None:
        raise ScheduleNotFound(f"schedule {schedule_id} does not exist")
    return check_all(stored, await live.live_state(schedule_id), policy)
