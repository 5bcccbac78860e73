"""Every business condition as one exception with a stable machine-readable code.

Each error is of one kind (the bases below); ``api/problems.py`` maps kinds to HTTP statuses.
Nothing here knows HTTP.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TicketingError(Exception):
    """Base of every expected failure; ``code`` is part of the public contract."""

    code: ClassVar[str] = "TICKETING_ERROR"
    title: ClassVar[str] = "Request failed"
    # When the condition passes by itself: how long a client should wait before asking again
    # (a class default; an instance may know better, e.g. a rate limit's window).
    retry_after_s: int | None = None

    def __init__(self, detail: str | None = None, *, retry_after_s: int | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra
        if retry_after_s is not None:
            self.retry_after_s = retry_after_s


# The kinds of failure. Every error below derives from exactly one of them, and the API
# maps kinds (not codes) to HTTP statuses, so a new error cannot silently become a 400.


class Unauthenticated(TicketingError):
    """Who is calling is unknown or unproven (a token, a signature)."""


class Forbidden(TicketingError):
    """The caller is known and may not do this (another's resource, the admin role, a pass)."""


class NotFound(TicketingError):
    """No such thing."""


class Conflict(TicketingError):
    """The state of the sale forbids it now (a seat taken, a sale closed, a hold expired)."""


class Unprocessable(TicketingError):
    """The request is understood and its content is wrong."""


class BadRequest(TicketingError):
    """The request lacks what every such request must carry."""


class TooManyRequests(TicketingError):
    """This caller asks for more than it may; it can try again later."""


class Unavailable(TicketingError):
    """The service cannot do it right now; it can be tried again later."""


class NotAuthenticated(Unauthenticated):
    code = "NOT_AUTHENTICATED"
    title = "A valid bearer token is required"


class AdminRequired(Forbidden):
    code = "ADMIN_REQUIRED"
    title = "This operation needs the admin role"


class InvalidInput(Unprocessable):
    code = "INVALID_INPUT"
    title = "The request is not valid"


class EventNotFound(NotFound):
    code = "EVENT_NOT_FOUND"
    title = "No such event"


class ScheduleNotFound(NotFound):
    code = "SCHEDULE_NOT_FOUND"
    title = "No such schedule"


class DuplicateSeat(Unprocessable):
    code = "DUPLICATE_SEAT"
    title = "A seat number appears more than once"


class SaleNotOpen(Conflict):
    code = "SALE_NOT_OPEN"
    title = "The sale has not opened yet"


class SaleClosed(Conflict):
    code = "SALE_CLOSED"
    title = "The sale for this schedule has ended"


class PassRequired(Forbidden):
    code = "PASS_REQUIRED"
    title = "A waiting-room pass is required"


class PassInvalid(Forbidden):
    code = "PASS_INVALID"
    title = "The waiting-room pass is not valid for this user and schedule"


class PassExpired(Forbidden):
    code = "PASS_EXPIRED"
    title = "The waiting-room pass has expired or was given back"


class DependencyUnavailable(Unavailable):
    code = "DEPENDENCY_UNAVAILABLE"
    title = "A backing service is unavailable"


class SeatMapRebuilding(Unavailable):
    code = "SEAT_MAP_REBUILDING"
    title = "Seat availability is being restored; try again in a moment"
    retry_after_s = 1


class UnknownSeat(Unprocessable):
    code = "UNKNOWN_SEAT"
    title = "A requested seat does not exist in this schedule"


class SeatTaken(Conflict):
    code = "SEAT_TAKEN"
    title = "One or more seats are already held or sold"


class TooManySeats(Unprocessable):
    code = "TOO_MANY_SEATS"
    title = "The per-user seat limit for this schedule would be exceeded"


class HoldNotFound(NotFound):
    code = "HOLD_NOT_FOUND"
    title = "No such hold"


class ReservationNotFound(NotFound):
    code = "RESERVATION_NOT_FOUND"
    title = "No such reservation"


class TicketNotIssued(Conflict):
    code = "TICKET_NOT_ISSUED"
    title = "Only a confirmed reservation has a ticket"


class TicketInvalid(Unprocessable):
    code = "TICKET_INVALID"
    title = "Not a ticket this service signed"


class NotOwner(Forbidden):
    code = "NOT_OWNER"
    title = "This belongs to another user"


class HoldExpired(Conflict):
    code = "HOLD_EXPIRED"
    title = "The hold has expired or was released"


class HoldNotReleasable(Conflict):
    code = "HOLD_NOT_RELEASABLE"
    title = "The hold is being paid for or is confirmed and cannot be released"


class OrderNotFound(NotFound):
    code = "ORDER_NOT_FOUND"
    title = "No such payment order"


class IdempotencyKeyRequired(BadRequest):
    code = "IDEMPOTENCY_KEY_REQUIRED"
    title = "The Idempotency-Key header is required"


class IdempotencyKeyReused(Unprocessable):
    code = "IDEMPOTENCY_KEY_REUSED"
    title = "This Idempotency-Key was already used for another hold"


class IdempotencyKeySpent(Conflict):
    code = "IDEMPOTENCY_KEY_SPENT"
    title = "This Idempotency-Key's hold is over (released, expired or being paid); send a new key"


class RateLimited(TooManyRequests):
    code = "RATE_LIMITED"
    title = "Too many requests of this kind from this caller; see Retry-After"


class PollTooEarly(TooManyRequests):
    code = "POLL_TOO_EARLY"
    title = "Asked again before the poll_after_ms the last answer gave; see Retry-After"


class TooManyStreams(TooManyRequests):
    code = "TOO_MANY_STREAMS"
    title = "This client already has as many live seat-map streams as it may"
    retry_after_s = 5


class StreamCapacityReached(Unavailable):
    code = "STREAM_CAPACITY_REACHED"
    title = "This server is serving as many live seat-map streams as it can"
    retry_after_s = 5


class BadSignature(Unauthenticated):
    code = "BAD_SIGNATURE"
    title = "The webhook signature does not match"


class WebhookTooOld(Unauthenticated):
    code = "WEBHOOK_TOO_OLD"
    title = "The webhook was signed too long ago (or too far ahead)"


class WebhookMismatch(Unprocessable):
    """A correctly signed event that does not fit the order: another order's event, another
    amount, or a provider transaction id already recorded for another order. Refused and
    counted (alert TicketingWebhookMismatch): a provider bug, or someone replaying events."""

    code = "WEBHOOK_MISMATCH"
    title = "The webhook does not match the order"
