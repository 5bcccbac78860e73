"""Waiting-room use cases: enter, status, leave, pass verification and the admission tick."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime

from ticketing.domain.errors import PassExpired, PassInvalid, PollTooEarly, SaleClosed, SaleNotOpen
from ticketing.domain.ids import ScheduleId, UserId
from ticketing.domain.waiting_room import (
    Admitted,
    AskedTooEarly,
    NotInQueue,
    QueueStatus,
    SoldOut,
    TickResult,
    Waiting,
)
from ticketing.services.catalog import get_schedule
from ticketing.services.ports import CatalogStore, Clock, PassTokenCodec, WaitingRoom


@dataclass(frozen=True, slots=True)
class AdmittedWithPass:
    pass_token: str
    pass_expires_at: datetime


QueueAnswer = Waiting | NotInQueue | SoldOut | AdmittedWithPass


def _answer(status: QueueStatus, tokens: PassTokenCodec, user: UserId, schedule_id: ScheduleId) -> QueueAnswer:
    """An admitted user gets a signed pass; one asking before its pace allows, a refusal."""
    if isinstance(status, Admitted):
        token = tokens.issue(user, schedule_id, status.pass_expires_at)
        return AdmittedWithPass(token, status.pass_expires_at)
    if isinstance(status, AskedTooEarly):
        raise PollTooEarly(
            f"ask again in {status.wait_ms} ms",
            retry_after_s=max(1, math.ceil(status.wait_ms / 1000)),
            retry_after_ms=status.wait_ms,
        )
    return status


async def enter_queue(
    catalog: CatalogStore,
    room: WaitingRoom,
    tokens: PassTokenCodec,
    clock: Clock,
    schedule_id: ScheduleId,
    user: UserId,
) -> QueueAnswer:
    """Join the line for a schedule. Idempotent: entering again keeps the same ticket,
    and an admitted user gets their pass back. Raises ScheduleNotFound, SaleNotOpen, SaleClosed,
    PollTooEarly (already waiting, and asking before the pace it was given).
    """
    schedule = await get_schedule(catalog, schedule_id)
    now = clock.now()
    if now < schedule.sale_opens_at:
        raise SaleNotOpen(f"the sale opens at {schedule.sale_opens_at.isoformat()}")
    if schedule.is_closed(now):
        raise SaleClosed()
    return _answer(await room.enter(schedule, user), tokens, user, schedule_id)


async def queue_status(
    catalog: CatalogStore, room: WaitingRoom, tokens: PassTokenCodec, schedule_id: ScheduleId, user: UserId
) -> QueueAnswer:
    """Where the user stands; an admitted user gets a signed pass token. Raises
    ScheduleNotFound, SaleClosed (the organiser closed it), PollTooEarly (still waiting,
    asking before ``poll_after_ms`` allows)."""
    schedule = await get_schedule(catalog, schedule_id)
    if schedule.sale_closed_at is not None:
        raise SaleClosed("the organiser closed the sale")
    return _answer(await room.status(schedule, user), tokens, user, schedule_id)


async def leave_queue(catalog: CatalogStore, room: WaitingRoom, schedule_id: ScheduleId, user: UserId) -> None:
    """Give back a place in line or a pass. Idempotent."""
    await get_schedule(catalog, schedule_id)
    await room.leave(schedule_id, user)


async def verify_pass(
    room: WaitingRoom, tokens: PassTokenCodec, schedule_id: ScheduleId, user: UserId, token: str | None
) -> datetime:
    """Check a pass token for this user and schedule and that the pass is still live.

    Returns the pass expiry. Raises PassRequired (no token), PassInvalid (bad signature,
    another user's or another schedule's pass), PassExpired (expired or given back).
    """
    claims = tokens.read(token)
    if claims.user != user or claims.schedule_id != schedule_id:
        raise PassInvalid()
    expiry = await room.pass_expiry(schedule_id, user)
    if expiry is None:
        raise PassExpired()
    return expiry


async def sync_registry(catalog: CatalogStore, room: WaitingRoom, clock: Clock) -> int:
    """Re-register every schedule on sale (heals the registry after Redis lost data). Idempotent."""
    schedules = await catalog.list_on_sale(clock.now())
    for schedule in schedules:
        await room.register(schedule)
    return len(schedules)


async def advance_waiting_rooms(room: WaitingRoom, clock: Clock) -> TickResult:
    """One admission tick for every registered schedule whose sale is open.

    Safe to run in any number of copies: each tick is one atomic script per schedule.
    Schedules whose show has started leave the registry. Returns the totals over schedules.
    """
    now = clock.now()
    total = TickResult(0, 0, 0, 0)
    for entry in await room.registered():
        if now >= entry.starts_at:
            await room.unregister(entry.schedule_id)
        elif now >= entry.sale_opens_at:
            # Paused: the tick still ends expired passes, and admits nobody.
            policy = replace(entry.policy, admit_per_tick=0) if entry.policy.paused else entry.policy
            r = await room.advance(entry.schedule_id, policy)
            total = TickResult(
                total.expired + r.expired,
                total.admitted + r.admitted,
                total.waiting + r.waiting,
                total.live_passes + r.live_passes,
            )
    return total
