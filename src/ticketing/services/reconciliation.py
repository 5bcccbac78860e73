"""Reconciliation: the database is the truth; whatever failed after a commit is repaired.

Paid orders that were not confirmed in time are published again (the broker may have
lost the message, or a relay may have died for good); refunds the provider could not
carry out are asked for again with a doubling delay; and the Redis seat state is healed
from the database -- rebuilt whole when Redis lost it, otherwise corrected seat by seat.
Every step is idempotent and claims its work (SKIP LOCKED, atomic scripts), so any
number of reconcilers may run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from ticketing.domain.catalog import Schedule
from ticketing.domain.ids import SeatNo
from ticketing.domain.messages import CONFIRM_REQUESTED, ConfirmRequested, new_event_id
from ticketing.domain.payments import DueOrder, OrderStatus, SettlementPolicy
from ticketing.domain.reservations import ReservationStatus
from ticketing.domain.seat_state import SeatTruth, orphaned, restore_plan, stray_seats
from ticketing.services.confirmation import RefundOutcome, refund_order
from ticketing.services.ports import (
    CatalogStore,
    Clock,
    OutboxSignal,
    Refunds,
    SeatLocks,
    SeatStates,
    SeatTruthReader,
    Transactions,
    UnitOfWork,
)


async def heal_seat_state(
    catalog: CatalogStore,
    truth: SeatTruthReader,
    states: SeatStates,
    locks: SeatLocks,
    clock: Clock,
    policy: SettlementPolicy,
    orphan_after_s: float = 30.0,
    drift: bool = True,
) -> Counter[str]:
    """For every schedule on sale: rebuild its seat state when Redis lost it (holds answer
    503 until then); with ``drift``, also correct what drifted -- SOLD seats not shown SOLD,
    seats shown HELD whose hold is over, and locks no hold will release (an API process
    killed between the lock and the insert left one; it would block the seat for its whole
    TTL). The rebuild check is one EXISTS per schedule, cheap enough for every round; the
    drift check reads the schedule's live rows and its whole seat map, so it runs less often.
    Returns repairs by kind."""
    repairs: Counter[str] = Counter()
    for schedule in await catalog.list_on_sale(clock.now()):
        rebuild = not await locks.is_intact(schedule.id)
        if not rebuild and not drift:
            continue
        seats = await truth.seat_truth(schedule.id, policy.payment_window_s, with_counts=rebuild)
        shown = {} if rebuild else await states.states(schedule.id)
        orphans = await _orphan_locks(truth, locks, schedule, seats, shown, orphan_after_s)
        entries = restore_plan(seats, shown, rebuild, orphans)
        if not rebuild and not entries:
            continue
        seat_count = len(await catalog.list_seats(schedule.id))
        changed = await locks.restore(schedule.id, entries, seats.user_counts if rebuild else (), rebuild, seat_count)
        if rebuild:
            repairs["seat_state_rebuilt"] += 1
        if changed:
            repairs["seats_healed"] += changed
        if orphans:
            repairs["orphan_locks_dropped"] += len(orphans)
    return repairs


async def _orphan_locks(
    truth: SeatTruthReader,
    locks: SeatLocks,
    schedule: Schedule,
    seats: SeatTruth,
    shown: Mapping[str, str],
    orphan_after_s: float,
) -> dict[SeatNo, str]:
    """Locks on stray seats that no hold will ever release (see domain.seat_state.orphaned)."""
    stray = stray_seats(seats, shown)
    if not stray:
        return {}
    seen = await locks.locks_seen(schedule.id, stray)
    finished = await truth.finished_holds(sorted({lock.hold_id for lock in seen.values()}))
    hold_ttl_ms, orphan_after_ms = schedule.hold_ttl_s * 1000, int(orphan_after_s * 1000)
    return {seat: lock.hold_id for seat, lock in seen.items() if orphaned(lock, finished, hold_ttl_ms, orphan_after_ms)}


async def settle_overdue_orders(
    tx: Transactions, refunds: Refunds, signal: OutboxSignal, clock: Clock, policy: SettlementPolicy, limit: int
) -> Counter[str]:
    """Orders whose check came due: a PAID order still waiting for confirmation gets a new
    confirm message through the outbox; a REFUND_PENDING order gets another refund attempt.
    Returns repairs by kind."""
    repairs: Counter[str] = Counter()
    due = await tx.run(lambda uow: uow.orders.claim_due(limit, policy.settle_within_s))
    for item in due:
        order = item.order
        if order.status is OrderStatus.PAID:
            if await tx.run(lambda uow, item=item: _republish_if_unconfirmed(uow, item, policy, clock)):  # type: ignore[misc]
                repairs["confirmation_republished"] += 1
        else:
            outcome = await refund_order(
                refunds, tx, clock, order.order_no, order.hold_id, order.amount, policy, item.retries
            )
            repairs["refund_completed" if outcome is RefundOutcome.REFUNDED else "refund_retried"] += 1
    if repairs["confirmation_republished"]:
        await signal.notify()
    return repairs


async def _republish_if_unconfirmed(uow: UnitOfWork, item: DueOrder, policy: SettlementPolicy, clock: Clock) -> bool:
    order = item.order
    hold = await uow.holds.get(order.hold_id, for_update=True)
    if hold is None or ReservationStatus.PAYMENT_PENDING not in hold.statuses:
        await uow.orders.schedule_check(order.order_no, None)  # settled after all
        return False
    # A new event id: if the first message is still on its way, the consumer finds nothing
    # PAYMENT_PENDING the second time and does nothing.
    message = ConfirmRequested(new_event_id(), order.order_no, order.hold_id, order.schedule_id, order.user_id)
    await uow.outbox.append(CONFIRM_REQUESTED, message.key, message.to_dict(), clock.now())
    reason = f"not confirmed within {policy.settle_within_s:g} s: confirmation published again"
    await uow.orders.note_retry(order.order_no, reason, policy.retry_in_s(item.retries + 1))
    return True
