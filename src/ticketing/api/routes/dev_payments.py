"""Development-only fake payment provider: completes an order by calling the real webhook, signed.

Mounted only when ``TICKETING_FAKE_PAYMENTS_ENABLED`` is true; production refuses that setting.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from ticketing.api.dependencies import Res, User
from ticketing.api.routes.payments import OrderNoPath
from ticketing.api.schemas import FakeCompletionIn
from ticketing.domain.errors import NotOwner, OrderNotFound
from ticketing.domain.payments import WebhookOutcome

router = APIRouter(prefix="/api/v1/dev/payments", tags=["development"])


@router.post("/{order_no}/complete")
async def complete(
    order_no: OrderNoPath, body: FakeCompletionIn, request: Request, res: Res, user: User
) -> JSONResponse:
    """The fake provider charges (or declines) and calls our webhook like a gateway would;
    for the order's owner (or an admin) only, as a real checkout page is the buyer's."""
    provider = res.fake_provider
    assert provider is not None  # the router is only mounted when the fake provider exists
    found = await res.payments.get_order(order_no)
    if found is None:
        raise OrderNotFound()
    if found.user_id != user.user_id and not user.is_admin:
        raise NotOwner()

    # The callback goes through the whole HTTP stack of this same app: signature check included.
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://provider.local") as client:

        async def deliver(path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
            response = await client.post(path, content=raw, headers=headers)
            return response.status_code, response.content

        status, content = await provider.complete(order_no, found.amount, WebhookOutcome(body.outcome), deliver)
    payload: Any = json.loads(content) if content else {}
    return JSONResponse({"webhook_status": status, "webhook_response": payload}, status_code=200)
