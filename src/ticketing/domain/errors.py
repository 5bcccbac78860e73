"""Every business condition as one exception with a stable machine-readable code.

The API maps codes to HTTP statuses in ``api/problems.py``; nothing here knows HTTP.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TicketingError(Exception):
    """Base of every expected failure; ``code`` is part of the public contract."""

    code: ClassVar[str] = "TICKETING_ERROR"
    title: ClassVar[str] = "Request failed"
    # When the condition passes by itself: how long a client should wait before asking again.
    retry_after_s: ClassVar[int | None] = None

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class NotAuthenticated(TicketingError):
    code = "NOT_AUTHENTICATED"
    title = "A valid bearer token is required"


class AdminRequired(TicketingError):
    code = "ADMIN_REQUIRED"
    title = "This operation needs the admin role"


class InvalidInput(TicketingError):
    code = "INVALID_INPUT"
    title = "The request is not valid"


class EventNotFound(TicketingError):
    code = "EVENT_NOT_FOUND"
    title = "No such event"


class ScheduleNotFound(TicketingError):
    code = "SCHEDULE_NOT_FOUND"
    title = "No such schedule"


class DuplicateSeat(TicketingError):
    code = "DUPLICATE_SEAT"
    title = "A seat number appears more than once"


class SaleNotOpen(TicketingError):
    code = "SALE_NOT_OPEN"
    title = "The sale has not opened yet"


class SaleClosed(TicketingError):
    code = "SALE_CLOSED"
    title = "The sale for this schedule has ended"


class PassRequired(TicketingError):
    code = "PASS_REQUIRED"
    title = "A waiting-room pass is required"


class PassInvalid(TicketingError):
    code = "PASS_INVALID"
    title = "The waiting-room pass is not valid for this user and schedule"


class PassExpired(TicketingError):
    code = "PASS_EXPIRED"
    title = "The waiting-room pass has expired or was given back"


class DependencyUnavailable(TicketingError):
    code = "DEPENDENCY_UNAVAILABLE"
    title = "A backing service is unavailable"


class SeatMapRebuilding(TicketingError):
    code = "SEAT_MAP_REBUILDING"
    title = "Seat availability is being restored; try again in a moment"
    retry_after_s = 1


class UnknownSeat(TicketingError):
    code = "UNKNOWN_SEAT"
    title = "A requested seat does not exist in this schedule"


class SeatTaken(TicketingError):
    code = "SEAT_TAKEN"
    title = "One or more seats are already held or sold"


class TooManySeats(TicketingError):
    code = "TOO_MANY_SEATS"
    title = "The per-user seat limit for this schedule would be exceeded"


class HoldNotFound(TicketingError):
    code = "HOLD_NOT_FOUND"
    title = "No such hold"


class NotOwner(TicketingError):
    code = "NOT_OWNER"
    title = "This belongs to another user"


class HoldExpired(TicketingError):
    code = "HOLD_EXPIRED"
    title = "The hold has expired or was released"


class HoldNotReleasable(TicketingError):
    code = "HOLD_NOT_RELEASABLE"
    title = "The hold is being paid for or is confirmed and cannot be released"


class OrderNotFound(TicketingError):
    code = "ORDER_NOT_FOUND"
    title = "No such payment order"


class IdempotencyKeyRequired(TicketingError):
    code = "IDEMPOTENCY_KEY_REQUIRED"
    title = "The Idempotency-Key header is required"


class IdempotencyKeyReused(TicketingError):
    code = "IDEMPOTENCY_KEY_REUSED"
    title = "This Idempotency-Key was already used for another hold"


class TooManyStreams(TicketingError):
    code = "TOO_MANY_STREAMS"
    title = "This client already has as many live seat-map streams as it may"
    retry_after_s = 5


class StreamCapacityReached(TicketingError):
    code = "STREAM_CAPACITY_REACHED"
    title = "This server is serving as many live seat-map streams as it can"
    retry_after_s = 5


class BadSignature(TicketingError):
    code = "BAD_SIGNATURE"
    title = "The webhook signature does not match"


class WebhookTooOld(TicketingError):
    code = "WEBHOOK_TOO_OLD"
    title = "The webhook was signed too long ago (or too far ahead)"


class WebhookMismatch(TicketingError):
    """A correctly signed event that does not fit the order: another order's event, another
    amount, or a provider transaction id already recorded for another order. Refused and
    counted (alert TicketingWebhookMismatch): a provider bug, or someone replaying events."""

    code = "WEBHOOK_MISMATCH"
    title = "The webhook does not match the order"
