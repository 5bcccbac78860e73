"""Hold expiry: unpaid holds past their time give their seats back."""

from __future__ import annotations

from ticketing.domain.reservations import HoldRecord, ReservationStatus
from ticketing.services.ports import Clock, SeatLocks, Transactions, UnitOfWork


async def expire_holds(tx: Transactions, locks: SeatLocks, clock: Clock, limit: int) -> int:
    """HELD holds past expires_at -> EXPIRED (a batch, skipping rows other expirers or a
    payment have locked), then their seats AVAILABLE where this hold still owned them.

    Expiry is judged by the database's clock, never this host's: a worker whose clock is
    off neither expires a live hold nor keeps a dead one. Safe in many copies. Returns
    how many reservations expired.
    """

    async def expire(uow: UnitOfWork) -> list[HoldRecord]:
        due = await uow.holds.lock_expired(limit)
        now = clock.now()
        for hold in due:
            await uow.holds.move(hold.hold_id, ReservationStatus.EXPIRED, now)
        return due

    holds = await tx.run(expire)
    for hold in holds:
        await locks.release(hold.schedule_id, hold.user_id, hold.hold_id, hold.seat_nos)
    return sum(len(h.reservations) for h in holds)
