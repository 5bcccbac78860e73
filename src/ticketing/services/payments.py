"""Payment use cases: an idempotent order per hold, and the provider's signed webhook."""

from __future__ import annotations

import json
from decimal import Decimal

from ticketing.domain.errors import (
    BadSignature,
    HoldExpired,
    IdempotencyKeyRequired,
    InvalidInput,
    NotOwner,
    OrderNotFound,
)
from ticketing.domain.ids import UserId
from ticketing.domain.messages import new_event_id
from ticketing.domain.payments import PaymentOrder, WebhookOutcome, signature_matches
from ticketing.services.holds import owned_hold
from ticketing.services.ports import Clock, OutboxSignal, PaymentStore, ReservationStore, SeatLocks, SeatPrices

MAX_IDEMPOTENCY_KEY_LEN = 128
MAX_PG_TX_ID_LEN = 128


async def create_payment(
    reservations: ReservationStore,
    payments: PaymentStore,
    prices: SeatPrices,
    clock: Clock,
    hold_id: str,
    user: UserId,
    idempotency_key: str | None,
) -> tuple[PaymentOrder, bool]:
    """A READY order for the caller's live hold; the amount is the sum of its seat prices.

    Idempotent: the same key (or a second request for the same hold) returns the same
    order. Returns (order, created). Raises IdempotencyKeyRequired, HoldNotFound,
    NotOwner, HoldExpired, IdempotencyKeyReused.
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LEN:
        raise IdempotencyKeyRequired(f"send an Idempotency-Key header of 1-{MAX_IDEMPOTENCY_KEY_LEN} characters")
    hold = await owned_hold(reservations, hold_id, user)
    now = clock.now()
    if not hold.is_live_hold(now):
        # A replay of an order made while the hold was live still gets that order.
        existing = await payments.get_order_for_hold(hold_id)
        if existing is not None:
            return existing, False
        raise HoldExpired()
    seat_prices = await prices.seat_prices(hold.schedule_id)
    amount = sum((seat_prices[s] for s in hold.seat_nos), Decimal(0))
    return await payments.create_order(hold, amount, key, now)


async def get_payment(payments: PaymentStore, order_no: str, user: UserId) -> PaymentOrder:
    """Raises OrderNotFound, NotOwner."""
    order = await payments.get_order(order_no)
    if order is None:
        raise OrderNotFound()
    if order.user_id != user:
        raise NotOwner()
    return order


def parse_webhook(body: bytes) -> tuple[WebhookOutcome, str]:
    try:
        data = json.loads(body)
        outcome = WebhookOutcome(data["status"])
        pg_tx_id = data["pg_tx_id"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput('webhook body must be {"status": "PAID"|"FAILED", "pg_tx_id": "..."}') from exc
    if not isinstance(pg_tx_id, str) or not 0 < len(pg_tx_id) <= MAX_PG_TX_ID_LEN:
        raise InvalidInput(f"pg_tx_id must be a string of 1-{MAX_PG_TX_ID_LEN} characters")
    return outcome, pg_tx_id


async def handle_webhook(
    payments: PaymentStore,
    locks: SeatLocks,
    signal: OutboxSignal,
    clock: Clock,
    secret: str,
    order_no: str,
    body: bytes,
    signature: str | None,
) -> PaymentOrder:
    """The provider's callback, verified over the raw body (HMAC-SHA256, constant time).

    PAID: order PAID, reservations PAYMENT_PENDING and one outbox row in one transaction,
    then the relays are woken. FAILED: order FAILED and the hold released. Idempotent:
    a replay changes nothing and returns the order as it is. Raises BadSignature,
    InvalidInput, OrderNotFound.
    """
    if not signature_matches(secret, body, signature):
        raise BadSignature()
    outcome, pg_tx_id = parse_webhook(body)
    now = clock.now()
    if outcome is WebhookOutcome.PAID:
        order, changed = await payments.record_paid(order_no, pg_tx_id, new_event_id(), now)
        if order is None:
            raise OrderNotFound()
        if changed:
            await signal.notify()  # after the commit, never inside it
        return order
    order, released = await payments.record_failed(order_no, pg_tx_id, now)
    if order is None:
        raise OrderNotFound()
    if released is not None:
        await locks.release(released.schedule_id, released.user_id, released.hold_id, released.seat_nos)
    return order
