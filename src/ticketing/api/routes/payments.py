"""Payments: an order per hold, the provider's signed webhook, order status."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Header, Path, Request, Response

from ticketing.api.dependencies import Res, User
from ticketing.api.rate_limits import counted
from ticketing.api.schemas import PaymentIn, PaymentOut, WebhookAck
from ticketing.domain.errors import TicketingError, WebhookMismatch
from ticketing.domain.payments import PaymentOrder
from ticketing.domain.rate_limits import Action
from ticketing.services import payments as use

log = structlog.get_logger("ticketing.payments")
router = APIRouter(prefix="/api/v1/payments", tags=["payments"])

OrderNoPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")]


def payment_out(order: PaymentOrder) -> PaymentOut:
    return PaymentOut(order_no=order.order_no, hold_id=order.hold_id, amount=order.amount, status=order.status.value)


@router.post("", status_code=201, response_model=PaymentOut, dependencies=[Depends(counted(Action.PAYMENT))])
async def create_payment(
    body: PaymentIn,
    res: Res,
    user: User,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> PaymentOut:
    """A READY order for my hold; the same Idempotency-Key returns the same order (200)."""
    order, created = await use.create_payment(
        res.reservations,
        res.payments,
        res.catalog,
        res.catalog,
        res.seat_locks,
        res.tx,
        res.clock,
        body.hold_id,
        user.user_id,
        idempotency_key,
        res.settlement,
    )
    if created:
        res.metrics.payment_orders_created_total.inc()
    else:
        response.status_code = 200
    return payment_out(order)


@router.post("/{order_no}/webhook", response_model=WebhookAck)
async def webhook(
    order_no: OrderNoPath,
    request: Request,
    res: Res,
    x_signature: Annotated[str | None, Header(max_length=128)] = None,
) -> WebhookAck:
    """The payment provider's callback; ``X-Signature`` is the hex HMAC-SHA256 of the raw body."""
    body = await request.body()  # at most 16 KiB: the middleware cuts off longer ones (413)
    try:
        order = await use.handle_webhook(
            res.tx,
            res.seat_locks,
            res.outbox_signal,
            res.clock,
            res.settings.webhook_secret,
            order_no,
            body,
            x_signature,
            res.settlement,
            res.settings.webhook_tolerance_s,
        )
    except TicketingError as exc:
        res.metrics.payment_webhooks_total.labels(exc.code.lower()).inc()
        if isinstance(exc, WebhookMismatch):
            log.error("webhook_mismatch", order_no=order_no, detail=exc.detail)
        raise
    res.metrics.payment_webhooks_total.labels(order.status.value.lower()).inc()
    return WebhookAck(order_no=order.order_no, status=order.status.value)


@router.get("/{order_no}", response_model=PaymentOut)
async def get_payment(order_no: OrderNoPath, res: Res, user: User) -> PaymentOut:
    return payment_out(await use.get_payment(res.payments, order_no, user.user_id))
