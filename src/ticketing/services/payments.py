"""Payment use cases: an idempotent order per hold, and the provider's signed webhook."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import structlog

from ticketing.domain.errors import (
    BadSignature,
    HoldExpired,
    IdempotencyKeyRequired,
    NotOwner,
    OrderNotFound,
    SaleClosed,
    SeatTaken,
    TooManySeats,
)
from ticketing.domain.ids import UserId
from ticketing.domain.messages import CONFIRM_REQUESTED, ConfirmRequested, new_event_id
from ticketing.domain.payments import (
    OrderStatus,
    PaymentOrder,
    SettlementPolicy,
    WebhookOutcome,
    may_move,
)
from ticketing.domain.reservations import HoldRecord, ReservationStatus
from ticketing.domain.webhooks import WebhookEvent, parse_event, signature_matches
from ticketing.services.catalog import get_schedule
from ticketing.services.holds import owned_hold
from ticketing.services.ports import (
    CatalogStore,
    Clock,
    OutboxSignal,
    PaymentStore,
    ReservationStore,
    SeatLocks,
    SeatPrices,
    Transactions,
    UnitOfWork,
)

log = structlog.get_logger("ticketing.payments")

MAX_IDEMPOTENCY_KEY_LEN = 128


async def create_payment(
    reservations: ReservationStore,
    payments: PaymentStore,
    catalog: CatalogStore,
    prices: SeatPrices,
    locks: SeatLocks,
    tx: Transactions,
    clock: Clock,
    hold_id: str,
    user: UserId,
    idempotency_key: str | None,
    policy: SettlementPolicy,
) -> tuple[PaymentOrder, bool]:
    """A READY order for the caller's live hold; the amount is the sum of its seat prices.

    From here on the hold keeps its seats for the payment window (Redis locks and the
    database expiry both), not just its hold TTL: a buyer on the provider's page must not
    lose the seat to the next buyer and then be refunded. Idempotent: the same key (or a
    second request for the same hold) returns the same order. Returns (order, created).

    The per-user seat limit is checked again here, in SQL: the Redis count is fast but can
    be lost with Redis's data, and a payment is where a limit must not be talked past.
    Raises IdempotencyKeyRequired, HoldNotFound, NotOwner, HoldExpired, SaleClosed (the show
    has started), TooManySeats, IdempotencyKeyReused, SeatMapRebuilding.
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LEN:
        raise IdempotencyKeyRequired(f"send an Idempotency-Key header of 1-{MAX_IDEMPOTENCY_KEY_LEN} characters")
    hold = await owned_hold(reservations, hold_id, user)
    if hold.statuses != {ReservationStatus.HELD}:
        return await _existing_order(payments, hold_id)
    schedule = await get_schedule(catalog, hold.schedule_id)
    if clock.now() >= schedule.starts_at:
        raise SaleClosed("the show has started")
    try:
        await locks.extend(hold.schedule_id, user, hold_id, hold.seat_nos, policy.payment_window_s * 1000)
    except SeatTaken:
        # The lock lapsed and another buyer holds a seat now: this hold is over.
        return await _existing_order(payments, hold_id)
    # The database decides liveness by its own clock, and moves the expiry with it.
    now = clock.now()

    async def keep_for_payment(uow: UnitOfWork) -> int:
        others = await uow.holds.seats_counted_for_user(hold.schedule_id, user, excluding=hold_id)
        if others + len(hold.seat_nos) > schedule.max_seats_per_user:
            raise TooManySeats(
                f"you already have {others} seats; the limit is {schedule.max_seats_per_user}",
                limit=schedule.max_seats_per_user,
                already_held=others,
            )
        return await uow.holds.extend(hold_id, policy.payment_window_s, now)

    if not await tx.run(keep_for_payment):
        existing = await payments.get_order_for_hold(hold_id)
        if existing is not None:
            return existing, False
        await locks.release(hold.schedule_id, user, hold_id, hold.seat_nos)
        raise HoldExpired()
    seat_prices = await prices.seat_prices(hold.schedule_id)
    amount = sum((seat_prices[s] for s in hold.seat_nos), Decimal(0))
    return await payments.create_order(hold, amount, key, now)


async def _existing_order(payments: PaymentStore, hold_id: str) -> tuple[PaymentOrder, bool]:
    """A replay of an order made while the hold was live still gets that order."""
    existing = await payments.get_order_for_hold(hold_id)
    if existing is None:
        raise HoldExpired()
    return existing, False


async def get_payment(payments: PaymentStore, order_no: str, user: UserId) -> PaymentOrder:
    """Raises OrderNotFound, NotOwner."""
    order = await payments.get_order(order_no)
    if order is None:
        raise OrderNotFound()
    if order.user_id != user:
        raise NotOwner()
    return order


async def handle_webhook(
    tx: Transactions,
    locks: SeatLocks,
    signal: OutboxSignal,
    clock: Clock,
    secret: str,
    order_no: str,
    body: bytes,
    signature: str | None,
    policy: SettlementPolicy,
    tolerance_s: int,
) -> PaymentOrder:
    """The provider's callback, verified over the raw body (HMAC-SHA256, constant time),
    which names the order, the amount, the outcome, the provider's transaction id and the
    signing time (``domain/webhooks.py``).

    PAID: order PAID, reservations PAYMENT_PENDING and one outbox row in one transaction,
    then the relays are woken. FAILED: order FAILED and the hold released. Idempotent:
    a replay changes nothing and returns the order as it is. Raises BadSignature,
    InvalidInput (not an event), WebhookMismatch (another order, another amount, a
    transaction id recorded for another order), WebhookTooOld, OrderNotFound.
    """
    if not signature_matches(secret, body, signature):
        raise BadSignature()
    event = parse_event(body)
    now = clock.now()
    event.check_against(order_no, now, tolerance_s)
    if event.outcome is WebhookOutcome.PAID:
        order, paid_hold = await tx.run(
            lambda uow: record_paid(uow, event, new_event_id(), now, policy.settle_within_s)
        )
        if paid_hold is not None:
            await signal.notify()  # after the commit, never inside it
            await _keep_seats_while_confirming(locks, order, paid_hold, policy.payment_window_s)
        return order
    order, released = await tx.run(lambda uow: record_failed(uow, event, now))
    if released is not None:
        await locks.release(released.schedule_id, released.user_id, released.hold_id, released.seat_nos)
    return order


async def _keep_seats_while_confirming(
    locks: SeatLocks, order: PaymentOrder, hold: HoldRecord, payment_window_s: int
) -> None:
    """Paid seats stay locked until the confirmation sells them. Best effort: the payment is
    committed whatever Redis says, and if a lock cannot be kept the guard still decides
    (the reconciler re-takes locks of paid holds from the database)."""
    try:
        await locks.extend(hold.schedule_id, hold.user_id, hold.hold_id, hold.seat_nos, payment_window_s * 1000)
    except SeatTaken as exc:
        log.warning("paid_seats_taken", order_no=order.order_no, seats=exc.extra.get("seat_nos"))
    except Exception as exc:
        log.warning("paid_seats_not_extended", order_no=order.order_no, error=f"{type(exc).__name__}: {exc}")


async def record_paid(
    uow: UnitOfWork, event: WebhookEvent, event_id: str, now: datetime, settle_within_s: float
) -> tuple[PaymentOrder, HoldRecord | None]:
    """The money was captured: READY (or FAILED, a capture after a decline) -> PAID, the
    hold's rows -> PAYMENT_PENDING, and the confirm message, all in the caller's unit of
    work. Returns (order as it now is, the paid hold if this call changed anything); a
    replay, or PAID for an order already past PAID, changes nothing. The reconciler is
    told to look at the order if it is not settled within ``settle_within_s``.
    Raises OrderNotFound, WebhookMismatch (the amount is not the order's)."""
    order_no, pg_tx_id = event.order_no, event.pg_tx_id
    order, movable = await _locked_order(uow, event, OrderStatus.PAID)
    if not movable:
        return order, None
    await uow.orders.move(order_no, OrderStatus.PAID, now, pg_tx_id)
    await uow.orders.schedule_check(order_no, settle_within_s)
    await uow.holds.move(order.hold_id, ReservationStatus.PAYMENT_PENDING, now)
    message = ConfirmRequested(event_id, order_no, order.hold_id, order.schedule_id, order.user_id)
    await uow.outbox.append(CONFIRM_REQUESTED, message.key, message.to_dict(), now)
    return replace(order, status=OrderStatus.PAID, pg_tx_id=pg_tx_id), await uow.holds.get(order.hold_id)


async def _locked_order(uow: UnitOfWork, event: WebhookEvent, target: OrderStatus) -> tuple[PaymentOrder, bool]:
    """The event's order, locked for this unit of work, and whether it may move to ``target``.
    Raises OrderNotFound, WebhookMismatch (the event charged another amount)."""
    order = await uow.orders.get(event.order_no, for_update=True)
    if order is None:
        raise OrderNotFound()
    event.check_amount(order)
    return order, may_move(order.status, target)


async def record_failed(uow: UnitOfWork, event: WebhookEvent, now: datetime) -> tuple[PaymentOrder, HoldRecord | None]:
    """The charge was declined: READY -> FAILED and the hold RELEASED. A decline after a
    capture is stale news and changes nothing. Returns (order, the released hold or None).
    Raises OrderNotFound, WebhookMismatch."""
    order_no, pg_tx_id = event.order_no, event.pg_tx_id
    order, movable = await _locked_order(uow, event, OrderStatus.FAILED)
    if not movable:
        return order, None
    await uow.orders.move(order_no, OrderStatus.FAILED, now, pg_tx_id)
    released = await uow.holds.move(order.hold_id, ReservationStatus.RELEASED, now)
    hold = await uow.holds.get(order.hold_id) if released else None
    return replace(order, status=OrderStatus.FAILED, pg_tx_id=pg_tx_id), hold
