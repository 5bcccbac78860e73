"""Hold use cases: take seats all-or-nothing behind a live pass, and give them back."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ticketing.domain.errors import (
    HoldNotFound,
    HoldNotReleasable,
    IdempotencyKeySpent,
    NotOwner,
    PassInvalid,
    SaleClosed,
    TicketingError,
)
from ticketing.domain.holds import Hold, hold_id_for, requested_seats
from ticketing.domain.ids import ScheduleId, UserId
from ticketing.domain.reservations import HoldRecord, ReservationStatus
from ticketing.services.abandoned_holds import AbandonedHolds
from ticketing.services.catalog import get_schedule
from ticketing.services.ports import CatalogStore, Clock, PassTokenCodec, ReservationStore, SeatLocks, SeatPrices

RELEASED_ALREADY = frozenset({ReservationStatus.RELEASED, ReservationStatus.EXPIRED})


async def hold_seats(
    catalog: CatalogStore,
    prices: SeatPrices,
    tokens: PassTokenCodec,
    locks: SeatLocks,
    abandoned: AbandonedHolds,
    reservations: ReservationStore,
    clock: Clock,
    schedule_id: ScheduleId,
    user: UserId,
    seat_nos: Sequence[str],
    pass_token: str | None,
    request_key: str | None = None,
) -> Hold:
    """Hold every requested seat or none.

    Guarded three times: the pass (signature, user, schedule here; liveness inside the
    lock script, atomically), the Redis seat locks, and later the database guard.
    A losing request never touches the database.

    Without ``request_key`` each success is a new hold. If writing the reservation rows
    fails, the locks are released before the error propagates; if the lock script got no
    answer (Redis timed out, the request was cancelled), it may still run: the hold id is
    handed to ``abandoned`` to be voided, and the buyer's next request settles those first.

    With ``request_key`` (the client's Idempotency-Key) the request is idempotent: the same
    key and seats are the same hold, so a retry after a lost answer gets the hold the first
    call made, or finishes it (its locks taken, its rows not yet written: the API process
    died). Such a request's failures leave its locks to its retry, which takes them over,
    or to the reconciler's orphan sweep if no retry comes. A key whose hold is over
    (released, expired, being paid) raises IdempotencyKeySpent and takes nothing.

    Raises ScheduleNotFound, SaleClosed (the show has started), PassRequired/PassInvalid/
    PassExpired, UnknownSeat, TooManySeats, SeatTaken, IdempotencyKeySpent.
    """
    schedule = await get_schedule(catalog, schedule_id)
    if schedule.is_closed(clock.now()):
        raise SaleClosed("the show has started" if schedule.sale_closed_at is None else "the organiser closed the sale")
    claims = tokens.read(pass_token)
    if claims.user != user or claims.schedule_id != schedule_id:
        raise PassInvalid()
    seats = requested_seats(seat_nos, await prices.seat_prices(schedule_id), schedule.max_seats_per_user)
    hold_id = hold_id_for(schedule_id, user, seats, request_key)
    retryable = request_key is not None
    ttl_ms = schedule.hold_ttl_s * 1000
    await abandoned.settle(schedule_id, user)  # this buyer's own abandoned locks go first
    try:
        pass_expires_at, expires_at = await locks.acquire(
            schedule_id, user, hold_id, seats, ttl_ms, schedule.max_seats_per_user
        )
    except TicketingError:
        raise  # the script answered: it took nothing
    except BaseException:
        if not retryable:
            abandoned.abandon(schedule_id, user, hold_id, seats, ttl_ms)
        raise
    hold = Hold(hold_id, schedule_id, user, seats, expires_at, pass_expires_at)
    try:
        recorded = await reservations.add_hold(hold, clock.now())
    except BaseException:
        if not retryable:
            # Shielded: a cancelled request must still give its seats back.
            await asyncio.shield(locks.release(schedule_id, user, hold_id, seats))
        raise
    if recorded:
        return hold
    return await _recorded_hold(reservations, locks, clock, hold)


async def _recorded_hold(reservations: ReservationStore, locks: SeatLocks, clock: Clock, hold: Hold) -> Hold:
    """A retried request whose hold id already has rows: the same hold while it is live;
    otherwise the key is spent, and locks it just took again for a hold that is over go back."""
    recorded = await reservations.get_hold(hold.hold_id)
    if recorded is not None and recorded.is_live_hold(clock.now()):
        return Hold(
            hold.hold_id, hold.schedule_id, hold.user, recorded.seat_nos, recorded.expires_at, hold.pass_expires_at
        )
    statuses = recorded.statuses if recorded is not None else frozenset()
    if statuses <= RELEASED_ALREADY | {ReservationStatus.HELD}:  # never a paid hold's locks
        await asyncio.shield(locks.release(hold.schedule_id, hold.user, hold.hold_id, hold.seat_nos))
    raise IdempotencyKeySpent(f"its hold is {', '.join(sorted(statuses)) or 'gone'}")


async def owned_hold(reservations: ReservationStore, hold_id: str, user: UserId) -> HoldRecord:
    """Raises HoldNotFound, NotOwner."""
    hold = await reservations.get_hold(hold_id)
    if hold is None:
        raise HoldNotFound()
    if hold.user_id != user:
        raise NotOwner()
    return hold


async def release_hold(
    reservations: ReservationStore, locks: SeatLocks, clock: Clock, hold_id: str, user: UserId
) -> None:
    """Give a hold's seats back (owner only). Idempotent for holds already released or expired.

    Raises HoldNotFound, NotOwner, HoldNotReleasable (being paid for or confirmed).
    """
    hold = await owned_hold(reservations, hold_id, user)
    live = hold.statuses == {ReservationStatus.HELD}
    if not (live and await reservations.release_hold(hold_id, clock.now())):
        if live:
            # A payment (or an expirer) moved it between our read and our guarded update.
            hold = await owned_hold(reservations, hold_id, user)
        if not hold.statuses <= RELEASED_ALREADY:
            raise HoldNotReleasable(f"the hold is {', '.join(sorted(hold.statuses))}")
    await locks.release(hold.schedule_id, user, hold_id, hold.seat_nos)
