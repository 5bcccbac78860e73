"""Confirmation use cases: paid holds become sold seats exactly once, or are refunded."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import structlog

from ticketing.domain.messages import REFUND_REQUESTED, ConfirmRequested, RefundRequested, new_event_id
from ticketing.domain.payments import OrderStatus, SettlementPolicy
from ticketing.domain.reservations import ConfirmOutcome, ConfirmResult, HoldRecord, ReservationStatus
from ticketing.services.ports import Clock, OutboxSignal, Refunds, SeatLocks, Transactions, UnitOfWork

log = structlog.get_logger("ticketing.confirmation")

CONFIRM_CONSUMER = "confirm-consumer"
REFUND_CONSUMER = "refunder"
REFUNDING = frozenset({ReservationStatus.REFUND_PENDING, ReservationStatus.REFUNDED})


async def confirm_seats(
    tx: Transactions,
    locks: SeatLocks,
    signal: OutboxSignal,
    clock: Clock,
    message: ConfirmRequested,
    policy: SettlementPolicy,
) -> ConfirmResult:
    """Confirm a paid hold: tracking row, guard rows and CONFIRMED in one transaction, or --
    when the guard says another reservation owns a seat -- REFUND_PENDING plus a refund message.

    Idempotent: a redelivered message changes nothing in the database. The Redis effects
    follow from the state the database ends in, and are applied again on every delivery
    (duplicates included), so a crash or a Redis outage between commit and Redis heals on
    redelivery.
    """
    result = await tx.run(
        lambda uow: decide_confirmation(uow, message, new_event_id(), clock.now(), policy.settle_within_s)
    )
    if result.outcome is ConfirmOutcome.REFUND_REQUESTED:
        await signal.notify()
    await show_settled_hold(locks, result.hold, result.sold_elsewhere)
    return result


async def decide_confirmation(
    uow: UnitOfWork, message: ConfirmRequested, refund_event_id: str, now: datetime, settle_within_s: float
) -> ConfirmResult:
    """The exactly-once decision, inside one unit of work: a tracking row first (a duplicate
    means already decided), then the guard rows for every PAYMENT_PENDING seat (all or
    none) and CONFIRMED; or, when the guard refuses or a newer live hold keeps a seat (this
    payment came after its hold lapsed), REFUND_PENDING for the hold and its order and a
    refund message in the outbox."""
    if not await uow.processed.mark(CONFIRM_CONSUMER, message.event_id, now):
        return await _as_it_is(uow, ConfirmOutcome.DUPLICATE, message.hold_id)
    hold = await uow.holds.get(message.hold_id, for_update=True)
    pending = [r for r in hold.reservations if r.status is ReservationStatus.PAYMENT_PENDING] if hold else []
    if hold is None or not pending:
        return await _as_it_is(uow, ConfirmOutcome.NOTHING_PENDING, message.hold_id)
    seats = [(r.seat_no, r.id) for r in pending]
    # A payment that came after its hold lapsed yields to a buyer who took a seat since and
    # is within their own hold (or paying): the seat goes to whoever pays in time, even when
    # the late money arrived first. Only newer holds count, so two payments never both yield.
    kept_by_newer = await uow.holds.newer_live_holds(hold.schedule_id, seats)
    if not kept_by_newer and await uow.guard.claim(hold.schedule_id, seats, now):
        await uow.holds.move(hold.hold_id, ReservationStatus.CONFIRMED, now)
        await uow.orders.schedule_check(message.order_no, None)  # settled: nothing to watch
        return ConfirmResult(ConfirmOutcome.CONFIRMED, await uow.holds.get(hold.hold_id))
    if kept_by_newer:
        log.info("late_payment_yields", order_no=message.order_no, hold_id=hold.hold_id, seats=kept_by_newer)
    # Another reservation owns or keeps at least one seat. Refund the hold.
    await uow.holds.move(hold.hold_id, ReservationStatus.REFUND_PENDING, now)
    await uow.orders.move(message.order_no, OrderStatus.REFUND_PENDING, now)
    await uow.orders.schedule_check(message.order_no, settle_within_s)
    order = await uow.orders.get(message.order_no)
    amount = str(order.amount) if order is not None else "0"
    refund = RefundRequested(refund_event_id, message.order_no, hold.hold_id, hold.schedule_id, hold.user_id, amount)
    await uow.outbox.append(REFUND_REQUESTED, refund.key, refund.to_dict(), now)
    sold = tuple(await uow.guard.owned_by_others(hold.schedule_id, seats))
    return ConfirmResult(ConfirmOutcome.REFUND_REQUESTED, await uow.holds.get(hold.hold_id), sold)


async def _as_it_is(uow: UnitOfWork, outcome: ConfirmOutcome, hold_id: str) -> ConfirmResult:
    """Nothing to decide; report the hold as the database has it, with the seats the
    guard gives to others, so the caller can re-apply the Redis side of that state."""
    hold = await uow.holds.get(hold_id)
    if hold is None:
        return ConfirmResult(outcome, None)
    sold = await uow.guard.owned_by_others(hold.schedule_id, [(r.seat_no, r.id) for r in hold.reservations])
    return ConfirmResult(outcome, hold, tuple(sold))


async def show_settled_hold(locks: SeatLocks, hold: HoldRecord | None, sold_elsewhere: tuple[str, ...]) -> None:
    """Make Redis show what the database decided: a confirmed hold's seats SOLD (and the
    buyer's pass given back); a refunded hold's locks released and the seats someone else
    owns SOLD. Idempotent, so it is safe to apply on every delivery."""
    if hold is None:
        return
    if hold.statuses == {ReservationStatus.CONFIRMED}:
        await locks.sell(hold.schedule_id, hold.user_id, hold.hold_id, hold.seat_nos)
    elif hold.statuses <= REFUNDING:
        await locks.release(hold.schedule_id, hold.user_id, hold.hold_id, hold.seat_nos)
        await locks.mark_sold(hold.schedule_id, [s for s in hold.seat_nos if s in sold_elsewhere])


class RefundOutcome(StrEnum):
    REFUNDED = "refunded"
    DUPLICATE = "duplicate"  # already refunded (a redelivery, or the reconciler was first)
    FAILED = "refund_failed"  # the provider did not refund; the reconciler tries again


async def complete_refund(
    provider: Refunds, tx: Transactions, clock: Clock, message: RefundRequested, policy: SettlementPolicy
) -> RefundOutcome:
    """Ask the provider to refund (it deduplicates on the order number), then mark the order
    and reservations REFUNDED. Idempotent.

    A provider that cannot refund (down, refusing, none configured) never blocks the
    refunder: the order stays REFUND_PENDING with the attempt and its error recorded, and
    the reconciler asks again later with a doubling delay (counted, alerted on, and listed
    by ``ticketing check``).
    """
    return await refund_order(provider, tx, clock, message.order_no, message.hold_id, Decimal(message.amount), policy)


async def refund_order(
    provider: Refunds,
    tx: Transactions,
    clock: Clock,
    order_no: str,
    hold_id: str,
    amount: Decimal,
    policy: SettlementPolicy,
    retries: int = 0,
) -> RefundOutcome:
    """One refund attempt for a REFUND_PENDING order (the refunder's and the reconciler's)."""
    current = await tx.run(lambda uow: uow.orders.get(order_no))
    if current is None or current.status is not OrderStatus.REFUND_PENDING:
        return RefundOutcome.DUPLICATE
    try:
        await provider.refund(order_no, amount)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.warning("refund_failed", order_no=order_no, attempt=retries + 1, error=error[:300])
        await tx.run(lambda uow: uow.orders.note_retry(order_no, error, policy.retry_in_s(retries)))
        return RefundOutcome.FAILED

    async def mark_refunded(uow: UnitOfWork) -> RefundOutcome:
        now = clock.now()
        if not await uow.orders.move(order_no, OrderStatus.REFUNDED, now):
            return RefundOutcome.DUPLICATE
        await uow.orders.schedule_check(order_no, None)
        await uow.holds.move(hold_id, ReservationStatus.REFUNDED, now)
        return RefundOutcome.REFUNDED

    return await tx.run(mark_refunded)
