"""Wire shapes (pydantic): strict bounds so bad input is a 4xx before any use case runs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer, model_validator

from ticketing.domain.catalog import MAX_SEATS_PER_SCHEDULE

MAX_ID = 2**63 - 1

Price = Annotated[Decimal, Field(ge=0, le=Decimal("9999999999.99"), max_digits=12, decimal_places=2)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventIn(Strict):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)


class EventOut(BaseModel):
    id: int
    title: str
    description: str
    created_at: datetime


class QueueIn(Strict):
    capacity: int = Field(ge=1, le=1_000_000, description="maximum live passes at once")
    pass_ttl_s: int = Field(ge=1, le=86_400, description="how long a pass lives")
    admit_per_tick: int = Field(ge=1, le=100_000, description="most people admitted per advancer tick")


class SeatGridIn(Strict):
    rows: int = Field(ge=1, le=702, description="A..Z, then AA..ZZ")
    cols: int = Field(ge=1, le=1000)
    price: Price
    section: str = Field(default="", max_length=64)

    @model_validator(mode="after")
    def _within_the_seat_cap(self) -> SeatGridIn:
        if self.rows * self.cols > MAX_SEATS_PER_SCHEDULE:
            raise ValueError(f"rows x cols is {self.rows * self.cols}; a schedule has at most {MAX_SEATS_PER_SCHEDULE}")
        return self


class SeatIn(Strict):
    seat_no: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    price: Price
    section: str = Field(default="", max_length=64)
    row_label: str = Field(default="", max_length=16)


class ScheduleIn(Strict):
    starts_at: AwareDatetime
    sale_opens_at: AwareDatetime
    hold_ttl_s: int = Field(default=300, ge=5, le=86_400)
    max_seats_per_user: int = Field(default=4, ge=1, le=100)
    queue: QueueIn
    seats: SeatGridIn | Annotated[list[SeatIn], Field(min_length=1, max_length=MAX_SEATS_PER_SCHEDULE)]


class QueuePolicyOut(BaseModel):
    capacity: int
    pass_ttl_s: int
    admit_per_tick: int
    paused: bool = Field(description="the organiser paused admission")


class ScheduleOut(BaseModel):
    id: int
    event_id: int
    starts_at: datetime
    sale_opens_at: datetime
    hold_ttl_s: int
    max_seats_per_user: int
    queue: QueuePolicyOut
    sale_closed_at: datetime | None = Field(description="set when the organiser closed the sale")


class EventDetailOut(EventOut):
    schedules: list[ScheduleOut]


class SeatOut(BaseModel):
    seat_no: str
    section: str
    row_label: str
    price: Decimal
    status: str

    @field_serializer("price")
    def _two_places(self, price: Decimal) -> str:
        return f"{price:.2f}"


class SeatMapOut(BaseModel):
    schedule_id: int
    seats: list[SeatOut]


class WaitingOut(BaseModel):
    status: Literal["WAITING"] = "WAITING"
    ticket: int = Field(description="my ticket number; the queue stream's `served` reaching it means my turn")
    position: int
    ahead: int
    eta_s: int
    poll_after_ms: int


class AdmittedOut(BaseModel):
    status: Literal["ADMITTED"] = "ADMITTED"
    pass_token: str
    pass_expires_at: datetime


class NotInQueueOut(BaseModel):
    status: Literal["NOT_IN_QUEUE"] = "NOT_IN_QUEUE"


class SoldOutOut(BaseModel):
    """Every seat is sold: the line is closed; a waiter keeps its place should a seat come back."""

    status: Literal["SOLD_OUT"] = "SOLD_OUT"


class PassOut(BaseModel):
    schedule_id: int
    user_id: str
    pass_expires_at: datetime


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str


SeatNoField = Annotated[str, Field(min_length=1, max_length=32)]


class HoldIn(Strict):
    seat_nos: list[SeatNoField] = Field(min_length=1, max_length=100)


class HoldOut(BaseModel):
    hold_id: str
    schedule_id: int
    seat_nos: list[str]
    expires_at: datetime


class PaymentIn(Strict):
    hold_id: str = Field(min_length=1, max_length=40)


class PaymentOut(BaseModel):
    order_no: str
    hold_id: str
    amount: Decimal
    status: str


class WebhookAck(BaseModel):
    order_no: str
    status: str


class FakeCompletionIn(Strict):
    outcome: Literal["PAID", "FAILED"]


class SteerIn(Strict):
    capacity: int | None = Field(default=None, ge=1, le=1_000_000, description="maximum live passes at once")
    admit_per_tick: int | None = Field(default=None, ge=1, le=100_000, description="most people admitted per tick")
    paused: bool | None = Field(default=None, description="pause (true) or resume (false) admission")


class SeatCountsOut(BaseModel):
    available: int
    held: int
    sold: int


class SaleDashboardOut(BaseModel):
    schedule_id: int
    paused: bool
    closed: bool
    capacity: int
    admit_per_tick: int
    waiting: int = Field(description="people in line")
    live_passes: int = Field(description="people admitted and choosing now")
    admitted: int = Field(description="admissions since the sale opened")
    admission_per_s: float
    seats: SeatCountsOut
    confirmed_seats: int
    refunds: int = Field(description="seats refunded: the guard found them confirmed for someone else")
    guard_conflicts: int = Field(
        description="paid holds whose confirmation was refused (a seat confirmed for, or kept by, someone else)"
    )
    refunds_done: int = Field(description="of those, refunded by the provider; the rest are pending")


class TicketOut(BaseModel):
    reservation_id: int
    schedule_id: int
    seat_no: str
    ticket: str = Field(description="signed (EdDSA JWT); verifiable offline with GET /api/v1/tickets/public-key")


class TicketCheckIn(Strict):
    ticket: str = Field(min_length=1, max_length=2048)


class TicketCheckOut(BaseModel):
    reservation_id: int
    schedule_id: int
    seat_no: str
    user_id: str
    issued_at: datetime
    status: str | None = Field(description="the reservation's state now (None: it no longer exists)")
    admit: bool = Field(description="signed by us, and still CONFIRMED for that buyer")


class DevLoginIn(Strict):
    user_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    admin: bool = False


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the scheme's name, not a secret)


class ReservationOut(BaseModel):
    reservation_id: int
    schedule_id: int
    seat_no: str
    hold_id: str
    status: str
    expires_at: datetime
