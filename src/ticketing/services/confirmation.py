"""Confirmation use cases: paid holds become sold seats exactly once, or are refunded."""

from __future__ import annotations

from decimal import Decimal

from ticketing.domain.messages import ConfirmRequested, RefundRequested, new_event_id
from ticketing.domain.reservations import ConfirmOutcome, ConfirmResult, ReservationStatus
from ticketing.services.ports import Clock, ConfirmationStore, OutboxSignal, Refunds, SeatLocks

CONFIRM_CONSUMER = "confirm-consumer"
REFUND_CONSUMER = "refunder"


async def confirm_seats(
    store: ConfirmationStore, locks: SeatLocks, signal: OutboxSignal, clock: Clock, message: ConfirmRequested
) -> ConfirmResult:
    """Confirm a paid hold: tracking row, guard rows and CONFIRMED in one transaction, or --
    when the guard says another reservation owns a seat -- REFUND_PENDING plus a refund message.

    Idempotent: a redelivered message changes nothing in the database. The Redis effects
    (seats SOLD, the buyer's pass given back) come after the commit and are re-applied on
    every delivery, so a crash between commit and Redis heals on redelivery.
    """
    result = await store.confirm(CONFIRM_CONSUMER, message, new_event_id(), clock.now())
    hold = result.hold
    if hold is None:
        return result
    if hold.statuses == {ReservationStatus.CONFIRMED}:
        await locks.sell(hold.schedule_id, hold.user_id, hold.hold_id, hold.seat_nos)
    elif result.outcome is ConfirmOutcome.REFUND_REQUESTED:
        await signal.notify()
        await locks.release(hold.schedule_id, hold.user_id, hold.hold_id, hold.seat_nos)
        await locks.mark_sold(hold.schedule_id, result.sold_elsewhere)
    return result


async def complete_refund(provider: Refunds, store: ConfirmationStore, clock: Clock, message: RefundRequested) -> bool:
    """Ask the provider to refund (it deduplicates on the order number), then mark the order
    and reservations REFUNDED. Idempotent; returns False for a redelivered message."""
    await provider.refund(message.order_no, Decimal(message.amount))
    return await store.complete_refund(REFUND_CONSUMER, message, clock.now())
