"""A small sale over real HTTP against a ``Stack``: buyers who behave like real clients.

::

    sale = await Sale.open(stack, SalePlan(buyers=200))
    await sale.run(fault=kill_the_consumer)      # buyers and the fault run concurrently
    row = await sale.finish("kill confirm-consumer mid-sale")

Every buyer enters the waiting room, polls at the pace the server gives (``poll_after_ms``,
capped), holds one seat of its own (the hold with an Idempotency-Key of its own, so the
retry of a hold whose answer was lost is the same hold), asks for a payment order with a fixed Idempotency-Key
and has the development payment provider complete it (which calls the real webhook).

During a fault a buyer retries like a real client: a transport error, a timeout, a 429 or a
5xx is retried with jittered exponential backoff (or after the answer's ``Retry-After``)
until the sale's time budget runs out (``SalePlan.budget_s``); the payment always with the
same Idempotency-Key, the provider's completion also when the webhook itself answered 5xx
(a gateway retries its callbacks). A hold refused for its pass (403 PASS_*) goes back to
the queue; a hold refused as SEAT_TAKEN after an attempt whose answer was lost looks in
``/me/reservations`` for its own hold. Every 5xx a buyer saw is counted by status and code
(``Sale.http_5xx``); ``finish()`` adds the API's own count by route (its ``/metrics``),
which also sees the webhook calls the provider makes inside the API.

A plan can shape the buyers for a fault:

- ``arrival_s`` spreads their arrivals over that many seconds, so a fault finds buyers in
  every stage;
- ``hold_delay_s``/``order_delay_s``/``pay_delay_s`` pause between admission and the hold
  (choosing seats), before ordering and before paying (a buyer on the provider's page);
- ``walk_away_every=n`` makes every n-th buyer hold a seat and leave without paying
  (outcome ``walked_away``);
- ``contenders=n`` adds a second buyer for each of the first n seats, who starts trying to
  hold it ``contender_after_s`` after the first buyer's hold and keeps trying through
  SEAT_TAKEN for ``contender_patience_s`` (outcome ``lost_race`` if the seat never came free,
  or the line answered SOLD_OUT: every seat sold).

The fault is a coroutine ``fault(sale)``; ``sale.progress.reached("paid", 50)`` lets it wait
for a point in the sale. When it returns, that instant is the end of the fault (or it calls
``sale.fault_ended()`` itself). ``finish()`` then settles (polls the database until every paid
order is CONFIRMED or REFUNDED), runs ``ticketing check --grace-s 0`` and counts the row.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.faults.instances import PrivateService
from tests.faults.results import FaultResult
from tests.faults.stack import CheckReport, Stack
from ticketing.adapters.access_tokens import AccessTokens
from ticketing.domain.catalog import seat_grid
from ticketing.domain.identity import Role

PAID_STATUSES = ("PAID", "REFUND_PENDING", "REFUNDED")
SETTLED_RESERVATIONS = ("CONFIRMED", "REFUNDED")
PASS_CODES = frozenset({"PASS_REQUIRED", "PASS_INVALID", "PASS_EXPIRED"})
STAGES = ("entered", "admitted", "held", "ordered", "paid", "done")
MAX_REQUEUES = 5


@dataclass(frozen=True)
class SalePlan:
    """The sale's shape. Defaults admit everyone at once and let no pass or hold expire,
    so whatever goes wrong comes from the fault, not from the clock."""

    buyers: int = 200
    extra_seats: int = 0
    cols: int = 20
    price: str = "30.00"
    admit_per_tick: int = 100
    pass_ttl_s: int = 600
    hold_ttl_s: int = 600
    budget_s: float = 90.0
    request_timeout_s: float = 5.0
    connect_timeout_s: float = 2.0
    backoff_first_s: float = 0.1
    backoff_max_s: float = 2.0
    settle_timeout_s: float = 60.0
    user_prefix: str = "buyer-"
    arrival_s: float = 0.0
    hold_delay_s: tuple[float, float] = (0.0, 0.0)
    order_delay_s: tuple[float, float] = (0.0, 0.0)
    pay_delay_s: tuple[float, float] = (0.0, 0.0)
    walk_away_every: int = 0
    contenders: int = 0
    contender_after_s: tuple[float, float] = (0.0, 0.0)
    contender_patience_s: float = 3.0
    retry_after_cap_s: float = 5.0

    def walks_away(self, index: int) -> bool:
        """Buyers 0, n, 2n, ... hold a seat and never pay (``walk_away_every=n``)."""
        return self.walk_away_every > 0 and index % self.walk_away_every == 0

    @property
    def seats(self) -> int:
        return self.buyers + self.extra_seats


@dataclass
class BuyerResult:
    """What happened to one buyer. ``outcome``: ``paid`` (the provider reported the webhook
    accepted), ``rejected`` (a final 4xx; ``final`` names it), ``gave_up`` (budget spent),
    ``walked_away`` (held a seat and left, as the plan said), ``lost_race`` (a contender that
    never got the seat)."""

    index: int
    user: str
    seat_no: str
    idempotency_key: str
    hold_key: str = field(default_factory=lambda: f"hold-{uuid.uuid4().hex}")  # one hold request, however often sent
    rival: int | None = None  # a contender: the index of the buyer whose seat it wants
    outcome: str = "pending"
    stage: str = "queue"
    hold_id: str | None = None
    order_no: str | None = None
    webhook_accepted: bool = False
    final: str = ""
    retries: int = 0
    requeues: int = 0
    reentries: int = 0
    errors: list[str] = field(default_factory=list)
    held_at: float | None = None
    pay_sent_at: datetime | None = None  # wall clock (UTC), to compare with the database's times
    paid_at: float | None = None
    hold_settled: asyncio.Event = field(default_factory=asyncio.Event, repr=False)  # held, or done trying

    def note(self, what: str) -> None:
        self.retries += 1
        if len(self.errors) < 20:
            self.errors.append(what)


class SaleOver(AssertionError):
    """Every buyer finished before the point a fault waited for was reached."""


class Progress:
    """How many buyers reached each stage (``STAGES``); a fault waits on it."""

    def __init__(self, buyers: int) -> None:
        self.buyers = buyers
        self.counts: dict[str, int] = dict.fromkeys(STAGES, 0)
        self._changed = asyncio.Condition()

    async def bump(self, stage: str) -> None:
        async with self._changed:
            self.counts[stage] += 1
            self._changed.notify_all()

    async def reached(self, stage: str, n: int, timeout_s: float = 60.0) -> None:
        """Until ``n`` buyers reached ``stage`` (e.g. ``"paid"``). Raises TimeoutError after
        ``timeout_s``, and SaleOver at once if every buyer finished short of it."""
        if stage not in self.counts:
            raise ValueError(f"unknown stage {stage!r}; one of {STAGES}")
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: self.counts[stage] >= n or self.counts["done"] >= self.buyers)
        if self.counts[stage] < n:
            raise SaleOver(f"the sale ended with {self.counts[stage]} buyers at {stage!r}, not {n}: {self.counts}")

    def __getitem__(self, stage: str) -> int:
        return self.counts[stage]


class GaveUp(Exception):
    """The buyer's time budget ran out in a stage."""


class LostRace(Exception):
    """A contender's seat stayed taken for all its patience."""


class Rejected(Exception):
    """A final refusal (a 4xx that retrying will not change)."""


@dataclass(frozen=True)
class Answer:
    response: httpx.Response
    retried: bool  # an earlier attempt may have reached the server: its outcome is unknown

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def code(self) -> str:
        return problem_code(self.response)

    def json(self) -> Any:
        return self.response.json()


def problem_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


@dataclass(frozen=True)
class Settlement:
    settled: bool
    waited_s: float
    recovery_s: float | None
    unsettled: int


@dataclass(frozen=True)
class Tally:
    """Counts from the database (see ``results.py`` for what each means)."""

    orders: int
    paid: int
    confirmed: int
    refunded: int
    stuck: int
    double_sold: int
    confirmed_and_refunded: int
    paid_order_nos: frozenset[str]
    statuses: Mapping[str, int]


Fault = Callable[["Sale"], Awaitable[object]]


def frozen(service: PrivateService, seconds: float, after_paid: int) -> Fault:
    """The fault "``service`` stops answering (SIGSTOP) for ``seconds`` once ``after_paid``
    buyers have paid", resumed even if the sale is cut short."""

    async def freeze(sale: Sale) -> None:
        await sale.progress.reached("paid", after_paid)
        sale.fault_began()
        service.pause()
        try:
            await asyncio.sleep(seconds)
        finally:
            service.resume()

    return freeze


class Sale:
    """One schedule on a stack, its buyers and what they saw."""

    def __init__(self, stack: Stack, plan: SalePlan, schedule_id: int, seat_nos: list[str]) -> None:
        self.stack = stack
        self.plan = plan
        self.schedule_id = schedule_id
        self.seat_nos = seat_nos
        self.tokens = AccessTokens(stack.settings.jwt_secret)
        prefix = f"{plan.user_prefix}s{schedule_id}-"
        self.buyers = [
            BuyerResult(i, f"{prefix}{i}", seat_nos[i], f"idem-{uuid.uuid4().hex}") for i in range(plan.buyers)
        ]
        self.buyers += [
            BuyerResult(plan.buyers + j, f"{prefix}{plan.buyers + j}", seat_nos[j], f"idem-{uuid.uuid4().hex}", rival=j)
            for j in range(plan.contenders)
        ]
        self._auth = {b.user: {"Authorization": f"Bearer {self.tokens.issue(b.user)}"} for b in self.buyers}
        self.progress = Progress(len(self.buyers))
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.fault_began_at: float | None = None
        self.fault_ended_at: float | None = None
        self.settlement: Settlement | None = None
        self.report: CheckReport | None = None
        self.http_5xx: dict[str, int] = {}  # "hold 503 SEAT_MAP_REBUILDING" -> answers buyers saw
        self._clients: dict[int, httpx.AsyncClient] = {}
        self._ssl = ssl.create_default_context()

    # -- set-up --------------------------------------------------------------------------

    @classmethod
    async def open(cls, stack: Stack, plan: SalePlan | None = None) -> Sale:
        """Create an event and an open schedule through the admin API (seats >= buyers,
        queue capacity >= buyers)."""
        plan = plan or SalePlan()
        rows = math.ceil(plan.seats / plan.cols)
        seat_nos = [str(s.seat_no) for s in seat_grid(rows, plan.cols, Decimal(plan.price))]
        admin = AccessTokens(stack.settings.jwt_secret).issue("faults-admin", Role.ADMIN)
        headers = {"Authorization": f"Bearer {admin}"}
        now = datetime.now(UTC)
        async with httpx.AsyncClient(base_url=stack.base_url, headers=headers, timeout=30.0) as client:
            r = await client.post("/api/v1/admin/events", json={"title": "Fault sale", "description": "faults"})
            assert r.status_code == 201, r.text
            body = {
                "starts_at": (now + timedelta(days=1)).isoformat(),
                "sale_opens_at": (now - timedelta(minutes=1)).isoformat(),
                "hold_ttl_s": plan.hold_ttl_s,
                "max_seats_per_user": 4,
                "queue": {
                    "capacity": max(plan.buyers + plan.contenders, 1),
                    "pass_ttl_s": plan.pass_ttl_s,
                    "admit_per_tick": plan.admit_per_tick,
                },
                "seats": {"rows": rows, "cols": plan.cols, "price": plan.price},
            }
            r = await client.post(f"/api/v1/admin/events/{r.json()['id']}/schedules", json=body)
            assert r.status_code == 201, r.text
        return cls(stack, plan, int(r.json()["id"]), seat_nos)

    # -- fault markers -------------------------------------------------------------------

    def fault_began(self) -> None:
        self.fault_began_at = time.monotonic()

    def fault_ended(self) -> None:
        self.fault_ended_at = time.monotonic()

    # -- the buying ----------------------------------------------------------------------

    async def run(self, fault: Fault | None = None) -> list[BuyerResult]:
        """Every buyer at once, and ``fault(self)`` beside them. Returns when every buyer has a
        final answer (or spent the budget) and the fault coroutine returned; an exception in
        the fault cancels the buyers and propagates."""
        self.started_at = time.monotonic()
        async with contextlib.AsyncExitStack() as clients:
            for b in self.buyers:
                self._clients[b.index] = await clients.enter_async_context(self._new_client())
            try:
                buying = asyncio.gather(*(self._buy(b) for b in self.buyers))
                if fault is None:
                    await buying
                else:
                    await self._beside(buying, fault)
            finally:
                self._clients.clear()
        self.ended_at = time.monotonic()
        return self.buyers

    def _new_client(self) -> httpx.AsyncClient:
        """One client per buyer, like one browser each. (One shared client with hundreds of
        connections spends ~20 ms of CPU per request in its pool bookkeeping, measured here:
        the load generator, not the service, became the bottleneck on two cores.)"""
        return httpx.AsyncClient(
            base_url=self.stack.base_url,
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
            timeout=httpx.Timeout(self.plan.request_timeout_s, connect=self.plan.connect_timeout_s),
            verify=self._ssl,  # unused over http://, but building one per client costs ~ms each
        )

    async def _beside(self, buying: asyncio.Future[list[None]], fault: Fault) -> None:
        async def faulting() -> None:
            await fault(self)
            if self.fault_ended_at is None:
                self.fault_ended()

        fault_task: asyncio.Future[None] = asyncio.ensure_future(faulting())
        tasks: set[asyncio.Future[Any]] = {buying, fault_task}
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        if fault_task in done and fault_task.exception() is not None:
            buying.cancel()
            await asyncio.gather(buying, return_exceptions=True)
            await fault_task  # raises the fault's exception
        await buying
        await fault_task

    async def _buy(self, b: BuyerResult) -> None:
        assert self.started_at is not None
        deadline = self.started_at + self.plan.budget_s
        if b.rival is None:
            await asyncio.sleep(random.uniform(0, self.plan.arrival_s))
        else:
            await self._behind_rival(b, deadline)
        try:
            hold_id = await self._hold(b, deadline)
            if self.plan.walks_away(b.index):
                b.outcome, b.final = "walked_away", f"left hold {hold_id} unpaid"
            else:
                await self._pause(self.plan.order_delay_s)
                order_no = await self._order(b, hold_id, deadline)
                await self._pause(self.plan.pay_delay_s)
                await self._complete(b, order_no, deadline)
                b.outcome = "paid"
        except LostRace as exc:
            b.outcome, b.final = "lost_race", str(exc)
        except GaveUp as exc:
            b.outcome, b.final = "gave_up", str(exc)
        except Rejected as exc:
            b.outcome, b.final = "rejected", str(exc)
        except Exception as exc:  # a broken answer (not JSON, a missing field): recorded, not fatal
            b.outcome, b.final = "error", f"{b.stage}: {type(exc).__name__}: {exc}"[:300]
        b.hold_settled.set()
        await self.progress.bump("done")

    async def _behind_rival(self, b: BuyerResult, deadline: float) -> None:
        """A contender waits for its rival's hold, then ``contender_after_s`` more."""
        assert b.rival is not None
        rival = self.buyers[b.rival]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(rival.hold_settled.wait(), timeout=max(0.0, deadline - time.monotonic()))
        if rival.held_at is not None:
            start = rival.held_at + random.uniform(*self.plan.contender_after_s)
            await asyncio.sleep(max(0.0, start - time.monotonic()))

    @staticmethod
    async def _pause(bounds: tuple[float, float]) -> None:
        low, high = bounds
        if high > 0:
            await asyncio.sleep(random.uniform(low, high))

    def _count_5xx(self, stage: str, r: httpx.Response) -> None:
        key = f"{stage} {r.status_code} {problem_code(r)}".rstrip()
        self.http_5xx[key] = self.http_5xx.get(key, 0) + 1

    def _retry_after_s(self, r: httpx.Response | None) -> float | None:
        """A 503/429's ``Retry-After`` in seconds (capped), as a polite client honours it."""
        raw = r.headers.get("retry-after") if r is not None else None
        try:
            return min(float(raw), self.plan.retry_after_cap_s) if raw else None
        except ValueError:
            return None

    async def _send(
        self,
        b: BuyerResult,
        stage: str,
        method: str,
        path: str,
        deadline: float,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        retry_if: Callable[[httpx.Response], bool] | None = None,
    ) -> Answer:
        """One request as a real client sends it: retried on transport errors, timeouts, 429
        and 5xx (and when ``retry_if`` says so) with jittered backoff, until ``deadline``."""
        client = self._clients[b.index]
        delay = self.plan.backoff_first_s
        retried = False
        while True:
            r: httpx.Response | None = None
            try:
                r = await client.request(method, path, json=json, headers={**self._auth[b.user], **(headers or {})})
                if r.status_code >= 500:
                    self._count_5xx(stage, r)
                if r.status_code < 500 and r.status_code != 429 and not (retry_if and retry_if(r)):
                    return Answer(r, retried)
                b.note(f"{stage}: {r.status_code} {problem_code(r)}".rstrip())
            except httpx.TransportError as exc:
                b.note(f"{stage}: {type(exc).__name__}")
            # A 429 did nothing; a 5xx or no answer may have done what was asked.
            retried = retried or r is None or r.status_code >= 500
            retry_after = self._retry_after_s(r)
            pause = delay * random.uniform(0.5, 1.5) if retry_after is None else retry_after * random.uniform(0.8, 1.2)
            if time.monotonic() + pause > deadline:
                raise GaveUp(f"{stage}: budget spent ({b.errors[-1] if b.errors else 'no answer'})")
            await asyncio.sleep(pause)
            delay = min(delay * 2, self.plan.backoff_max_s)

    async def _admitted(self, b: BuyerResult, deadline: float) -> str:
        """Enter (or re-enter) the line and poll until admitted; returns the pass token."""
        path = f"/api/v1/schedules/{self.schedule_id}/queue"
        b.stage = "queue"
        a = await self._send(b, "enter", "POST", path, deadline)
        if b.requeues == 0:
            await self.progress.bump("entered")
        while True:
            if a.status >= 400:
                raise Rejected(f"queue: {a.status} {a.code}")
            body = a.json()
            status = body.get("status")
            if status == "ADMITTED":
                if b.requeues == 0:
                    await self.progress.bump("admitted")
                return str(body["pass_token"])
            if status == "WAITING":
                wait_s = int(body.get("poll_after_ms", 1000)) / 1000  # the server's pace (it refuses faster)
                if time.monotonic() + wait_s > deadline:
                    raise GaveUp("queue: budget spent waiting")
                await asyncio.sleep(wait_s)
                a = await self._send(b, "status", "GET", path, deadline)
            elif status == "SOLD_OUT":
                # Every seat is sold: a contender's seat never came free; anyone else was
                # refused a seat the sale owed them (the test decides whether that may be).
                if b.rival is not None:
                    raise LostRace("queue: SOLD_OUT, every seat sold")
                raise Rejected("queue: SOLD_OUT")
            else:  # NOT_IN_QUEUE: the line forgot us (Redis lost it): join again
                b.note(f"queue: {status}")
                b.reentries += 1
                a = await self._send(b, "enter", "POST", path, deadline)

    async def _hold(self, b: BuyerResult, deadline: float) -> str:
        """Hold this buyer's seat: until a 201, its own hold found after a lost answer, or a 4xx."""
        path = f"/api/v1/schedules/{self.schedule_id}/holds"
        while True:
            pass_token = await self._admitted(b, deadline)
            await self._pause(self.plan.hold_delay_s)
            b.stage = "hold"
            patience_until = time.monotonic() + self.plan.contender_patience_s
            while True:
                a = await self._send(
                    b,
                    "hold",
                    "POST",
                    path,
                    deadline,
                    json={"seat_nos": [b.seat_no]},
                    headers={"X-Queue-Pass": pass_token, "Idempotency-Key": b.hold_key},
                )
                if b.rival is None or a.code != "SEAT_TAKEN" or a.retried:
                    break
                if time.monotonic() >= patience_until:
                    raise LostRace(f"hold: {b.seat_no} never came free in {self.plan.contender_patience_s} s")
                await asyncio.sleep(0.25)  # under the per-user hold limit (5/s), as a page's retry is
            if a.status == 201:
                hold_id = str(a.json()["hold_id"])
                break
            if a.code in PASS_CODES and b.requeues < MAX_REQUEUES:
                b.requeues += 1
                b.note(f"hold: {a.code}, back to the queue")
                continue
            if a.retried and a.code in ("SEAT_TAKEN", "TOO_MANY_SEATS"):
                mine = await self._own_hold(b, deadline)
                if mine is not None:
                    hold_id = mine
                    break
            raise Rejected(f"hold: {a.status} {a.code}")
        b.hold_id = hold_id
        b.held_at = time.monotonic()
        b.hold_settled.set()
        await self.progress.bump("held")
        return hold_id

    async def _own_hold(self, b: BuyerResult, deadline: float) -> str | None:
        """After a hold whose answer was lost: did it succeed after all? (my HELD reservation of my seat)"""
        a = await self._send(b, "reservations", "GET", "/api/v1/me/reservations", deadline)
        if a.status != 200:
            return None
        for r in a.json():
            if r["schedule_id"] == self.schedule_id and r["seat_no"] == b.seat_no and r["status"] == "HELD":
                return str(r["hold_id"])
        return None

    async def _order(self, b: BuyerResult, hold_id: str, deadline: float) -> str:
        b.stage = "order"
        a = await self._send(
            b,
            "order",
            "POST",
            "/api/v1/payments",
            deadline,
            json={"hold_id": hold_id},
            headers={"Idempotency-Key": b.idempotency_key},
        )
        if a.status not in (200, 201):
            raise Rejected(f"order: {a.status} {a.code}")
        b.order_no = str(a.json()["order_no"])
        await self.progress.bump("ordered")
        return b.order_no

    async def _complete(self, b: BuyerResult, order_no: str, deadline: float) -> None:
        """The provider charges and calls the webhook; a webhook 5xx is retried like a gateway does."""
        b.stage = "pay"
        b.pay_sent_at = datetime.now(UTC)

        def webhook_failed(r: httpx.Response) -> bool:
            if r.status_code != 200:
                return False
            status = int(r.json().get("webhook_status", 0))
            return status >= 500 or status == 429

        a = await self._send(
            b,
            "pay",
            "POST",
            f"/api/v1/dev/payments/{order_no}/complete",
            deadline,
            json={"outcome": "PAID"},
            retry_if=webhook_failed,
        )
        if a.status != 200:
            raise Rejected(f"pay: {a.status} {a.code}")
        body = a.json()
        webhook_status = int(body.get("webhook_status", 0))
        answer = body.get("webhook_response") or {}
        b.final = f"webhook {webhook_status} {answer.get('status') or answer.get('code', '')}".rstrip()
        if webhook_status != 200 or answer.get("status") != "PAID":
            raise Rejected(f"pay: {b.final}")
        b.webhook_accepted = True
        b.paid_at = time.monotonic()
        b.stage = "paid"
        await self.progress.bump("paid")

    # -- after the sale ------------------------------------------------------------------

    def engine(self) -> AsyncEngine:
        """A small engine on the private database (direct reads, never through the service)."""
        return create_async_engine(self.stack.db.url(), pool_size=2, max_overflow=0, pool_pre_ping=True)

    async def settle(self, timeout_s: float | None = None) -> Settlement:
        """Poll the database until every PAID/REFUND_PENDING order has its reservations
        CONFIRMED or REFUNDED, or ``timeout_s`` passes (the database may be down a while:
        errors are retried). ``recovery_s`` counts from the fault's end (else the sale's end)."""
        timeout_s = self.plan.settle_timeout_s if timeout_s is None else timeout_s
        began = time.monotonic()
        since = self.fault_ended_at or self.ended_at or began
        engine = self.engine()
        unsettled = -1
        try:
            while True:
                try:
                    async with asyncio.timeout(5.0):
                        unsettled = await self._unsettled(engine)
                except Exception:  # the database is down or restarting: ask again
                    unsettled = -1
                now = time.monotonic()
                if unsettled == 0:
                    self.settlement = Settlement(True, now - began, max(0.0, now - since), 0)
                    return self.settlement
                if now - began >= timeout_s:
                    self.settlement = Settlement(False, now - began, None, unsettled)
                    return self.settlement
                await asyncio.sleep(0.1)
        finally:
            await engine.dispose()

    async def _unsettled(self, engine: AsyncEngine) -> int:
        query = sa.text(
            "SELECT COUNT(*) FROM payment_order o WHERE o.schedule_id = :s AND o.status IN ('PAID', 'REFUND_PENDING')"
            " AND EXISTS (SELECT 1 FROM reservation r WHERE r.hold_id = o.hold_id"
            " AND r.status NOT IN ('CONFIRMED', 'REFUNDED'))"
        )
        async with engine.connect() as conn:
            return int((await conn.execute(query, {"s": self.schedule_id})).scalar_one())

    async def tally(self) -> Tally:
        """Count paid, confirmed, refunded, stuck and double-sold in the database."""
        orders_q = sa.text(
            "SELECT o.order_no, o.status, COUNT(r.id) AS n,"
            " COALESCE(SUM(r.status = 'CONFIRMED'), 0) AS confirmed"
            " FROM payment_order o LEFT JOIN reservation r ON r.hold_id = o.hold_id"
            " WHERE o.schedule_id = :s GROUP BY o.order_no, o.status"
        )
        double_q = sa.text(
            "SELECT COUNT(*) FROM (SELECT seat_no FROM reservation WHERE schedule_id = :s AND status = 'CONFIRMED'"
            " GROUP BY seat_no HAVING COUNT(*) > 1) AS twice"
        )
        engine = self.engine()
        try:
            async with engine.connect() as conn:
                orders = (await conn.execute(orders_q, {"s": self.schedule_id})).all()
                double_sold = int((await conn.execute(double_q, {"s": self.schedule_id})).scalar_one())
        finally:
            await engine.dispose()
        statuses: dict[str, int] = {}
        paid = confirmed = refunded = stuck = both = 0
        paid_nos = set()
        for order_no, status, n, n_confirmed in orders:
            statuses[status] = statuses.get(status, 0) + 1
            if status not in PAID_STATUSES:
                continue
            paid += 1
            paid_nos.add(order_no)
            is_confirmed = status == "PAID" and n > 0 and int(n_confirmed) == n
            confirmed += is_confirmed
            refunded += status == "REFUNDED"
            stuck += not is_confirmed and status != "REFUNDED"
            # The money went back, yet a seat of the order is sold: both outcomes at once.
            both += status != "PAID" and int(n_confirmed) > 0
        return Tally(len(orders), paid, confirmed, refunded, stuck, double_sold, both, frozenset(paid_nos), statuses)

    async def check(self, quiet_s: float = 1.0) -> CheckReport:
        """``ticketing check --grace-s 0``, after ``quiet_s`` for the seat map to catch up
        with the last confirmations (Redis is written right after each commit)."""
        await asyncio.sleep(quiet_s)
        self.report = await self.stack.check(self.schedule_id, grace_s=0.0)
        return self.report

    async def seat_statuses(self) -> dict[str, str]:
        """seat_no -> status in the live seat map, as any visitor reads it (``GET .../seats``)."""
        async with httpx.AsyncClient(base_url=self.stack.base_url, timeout=30.0) as client:
            r = await client.get(f"/api/v1/schedules/{self.schedule_id}/seats")
            assert r.status_code == 200, r.text
        return {str(seat["seat_no"]): str(seat["status"]) for seat in r.json()["seats"]}

    async def reservation_statuses(self) -> dict[str, set[str]]:
        """seat_no -> the statuses of its reservations in the database."""
        rows = await self.stack.db_rows(
            sa.text("SELECT seat_no, status FROM reservation WHERE schedule_id = :s"), {"s": self.schedule_id}
        )
        out: dict[str, set[str]] = {}
        for seat_no, status in rows:
            out.setdefault(str(seat_no), set()).add(str(status))
        return out

    def paid_since_fault_began(self) -> int:
        """Buyers whose payment was accepted after the fault began (it hit a sale in progress)."""
        began = self.fault_began_at
        return sum(1 for b in self.buyers if began is not None and b.paid_at is not None and b.paid_at >= began)

    def requeues(self) -> int:
        """How many times buyers joined the line again: a pass the server no longer knew
        (403 PASS_*), or a line that no longer knew them (NOT_IN_QUEUE)."""
        return sum(b.requeues + b.reentries for b in self.buyers)

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for b in self.buyers:
            counts[b.outcome] = counts.get(b.outcome, 0) + 1
        return counts

    async def finish(self, fault: str, test: str = "", notes: list[str] | None = None) -> FaultResult:
        """Settle, check and count: the row of the results table for this sale."""
        settlement = self.settlement or await self.settle()
        report = self.report or await self.check()
        tally = await self.tally()
        accepted = [b for b in self.buyers if b.webhook_accepted]
        lost = [b for b in accepted if b.order_no not in tally.paid_order_nos]
        notes = [f"order statuses {dict(sorted(tally.statuses.items()))}", *(notes or [])]
        if not settlement.settled:
            notes.append(f"{settlement.unsettled} paid orders unsettled after {settlement.waited_s:.0f} s")
        if lost:
            notes.append("lost: " + ", ".join(str(b.order_no) for b in lost[:10]))
        errors: dict[str, int] = {}
        for b in self.buyers:
            for e in b.errors:
                errors[e] = errors.get(e, 0) + 1
        if errors:
            top = sorted(errors.items(), key=lambda kv: -kv[1])[:8]
            notes.append("buyers retried after: " + ", ".join(f"{e} x{n}" for e, n in top))
        unserved = [b for b in self.buyers if b.outcome in ("rejected", "gave_up", "error")][:5]
        if unserved:
            try:
                shown, stored = await self.seat_statuses(), await self.reservation_statuses()
                notes.append(
                    "seats of buyers not served, at the end: "
                    + ", ".join(
                        f"{b.seat_no} map {shown.get(b.seat_no)} db {sorted(stored.get(b.seat_no, ()))}"
                        for b in unserved
                    )
                )
            except (httpx.HTTPError, AssertionError) as exc:
                notes.append(f"seat states not read: {exc!r}"[:200])
        if tally.confirmed_and_refunded:
            notes.append(f"{tally.confirmed_and_refunded} orders REFUNDED (or pending) with a CONFIRMED seat")
        try:
            server_5xx: dict[str, int] | None = await self.stack.api_5xx()
        except (httpx.HTTPError, ValueError) as exc:
            server_5xx = None
            notes.append(f"API /metrics not read: {type(exc).__name__}: {exc}")
        return FaultResult(
            fault=fault,
            buyers=len(self.buyers),
            paid=tally.paid,
            confirmed=tally.confirmed,
            refunded=tally.refunded,
            stuck=tally.stuck,
            double_sold=tally.double_sold,
            confirmed_and_refunded=tally.confirmed_and_refunded,
            violations=len(report.violations),
            recovery_s=settlement.recovery_s,
            accepted=len(accepted),
            lost=len(lost),
            gave_up=sum(1 for b in self.buyers if b.outcome == "gave_up"),
            sale_s=(self.ended_at - self.started_at) if self.ended_at and self.started_at else None,
            settled=settlement.settled,
            test=test,
            violations_by_invariant=report.by_invariant(),
            violation_details=report.violations[:50],
            buyer_outcomes=self.outcomes(),
            http_5xx=dict(sorted(self.http_5xx.items())),
            server_5xx=server_5xx,
            notes=notes,
        )

    def failures(self, limit: int = 10) -> str:
        """The buyers that did not pay, with their last errors (for assertion messages)."""
        lines = [
            f"{b.user} seat {b.seat_no}: {b.outcome} at {b.stage} ({b.final}); errors {b.errors[-3:]}"
            for b in self.buyers
            if b.outcome not in ("paid", "walked_away", "lost_race")
        ]
        more = f"\n... and {len(lines) - limit} more" if len(lines) > limit else ""
        return "\n".join(lines[:limit]) + more
