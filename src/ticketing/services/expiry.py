"""Hold expiry: unpaid holds past their time give their seats back."""

from __future__ import annotations

from ticketing.services.ports import Clock, ReservationStore, SeatLocks


async def expire_holds(reservations: ReservationStore, locks: SeatLocks, clock: Clock, limit: int) -> int:
    """HELD rows past expires_at -> EXPIRED (a batch, skipping rows other expirers or a
    payment hold locked), then their seats AVAILABLE where this hold still owned them.
    Safe in many copies. Returns how many reservations expired."""
    holds = await reservations.expire_due(clock.now(), limit)
    for hold in holds:
        await locks.release(hold.schedule_id, hold.user_id, hold.hold_id, hold.seat_nos)
    return sum(len(h.reservations) for h in holds)
