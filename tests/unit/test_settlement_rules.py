"""The exactly-once decisions (record paid, confirm or refund, expire) over a fake unit of work."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy.exc import OperationalError

from tests.unit.fake_uow import FakeTransactions, add_hold, add_order
from ticketing.adapters.sql.transient import RetryPolicy
from ticketing.domain.errors import OrderNotFound
from ticketing.domain.messages import CONFIRM_REQUESTED, REFUND_REQUESTED, ConfirmRequested
from ticketing.domain.payments import OrderStatus, WebhookOutcome
from ticketing.domain.reservations import ConfirmOutcome, ReservationStatus
from ticketing.domain.webhooks import WebhookEvent
from ticketing.services.confirmation import decide_confirmation
from ticketing.services.expiry import expire_holds
from ticketing.services.payments import record_failed, record_paid

S = ReservationStatus


def event(order_no: str, pg_tx_id: str, amount: str = "25.00") -> WebhookEvent:
    """The provider's event for ``order_no`` (the fake orders cost 25.00)."""
    return WebhookEvent(order_no, Decimal(amount), WebhookOutcome.PAID, pg_tx_id, 0)


def statuses(tx: FakeTransactions, hold_id: str) -> set[ReservationStatus]:
    return {r.status for r in tx.state.reservations.values() if r.hold_id == hold_id}


async def test_paid_moves_order_and_hold_and_writes_one_confirm_message() -> None:
    tx = FakeTransactions()
    add_hold(tx.state, "h1", ["A-1", "A-2"], S.HELD)
    add_order(tx.state, "o1", "h1", OrderStatus.READY)
    now = tx.state.clock
    order, paid = await tx.run(lambda uow: record_paid(uow, event("o1", "pg-1"), "e1", now, 60))
    assert order.status is OrderStatus.PAID
    assert paid is not None
    assert paid.statuses == {S.PAYMENT_PENDING}
    assert [(topic, p["order_no"]) for topic, _, p in tx.state.outbox] == [(CONFIRM_REQUESTED, "o1")]
    assert [key for _, key, _ in tx.state.outbox] == ["o1"], "keyed by order: a schedule spreads over partitions"
    again, paid = await tx.run(lambda uow: record_paid(uow, event("o1", "pg-1"), "e2", now, 60))
    assert (again.status, paid) == (OrderStatus.PAID, None)
    assert len(tx.state.outbox) == 1, "a replayed PAID writes no second message"


async def test_paid_after_failed_reopens_the_released_hold_for_the_guard() -> None:
    tx = FakeTransactions()
    add_hold(tx.state, "h1", ["A-1"], S.HELD)
    add_order(tx.state, "o1", "h1", OrderStatus.READY)
    now = tx.state.clock
    failed, released = await tx.run(lambda uow: record_failed(uow, event("o1", "pg-1"), now))
    assert failed.status is OrderStatus.FAILED
    assert released is not None
    assert statuses(tx, "h1") == {S.RELEASED}
    order, paid = await tx.run(lambda uow: record_paid(uow, event("o1", "pg-2"), "e1", now, 60))
    assert (order.status, paid is not None) == (OrderStatus.PAID, True)
    assert statuses(tx, "h1") == {S.PAYMENT_PENDING}
    assert len(tx.state.outbox) == 1


async def test_failed_after_paid_changes_nothing() -> None:
    tx = FakeTransactions()
    add_hold(tx.state, "h1", ["A-1"], S.PAYMENT_PENDING)
    add_order(tx.state, "o1", "h1", OrderStatus.PAID)
    order, released = await tx.run(lambda uow: record_failed(uow, event("o1", "pg-1"), tx.state.clock))
    assert (order.status, released) == (OrderStatus.PAID, None)
    assert statuses(tx, "h1") == {S.PAYMENT_PENDING}


async def test_webhook_for_an_unknown_order_is_not_found() -> None:
    tx = FakeTransactions()
    with pytest.raises(OrderNotFound):
        await tx.run(lambda uow: record_paid(uow, event("missing", "pg"), "e", tx.state.clock, 60))


def sold_seat_and_a_paid_loser() -> tuple[FakeTransactions, ConfirmRequested]:
    """A-1 is confirmed for "winner"; "loser" paid for A-1 and A-2 and awaits confirmation."""
    tx = FakeTransactions()
    add_hold(tx.state, "winner", ["A-1"], S.CONFIRMED)
    tx.state.guard[(1, "A-1")] = 1
    add_hold(tx.state, "loser", ["A-1", "A-2"], S.PAYMENT_PENDING)
    add_order(tx.state, "o2", "loser", OrderStatus.PAID)
    return tx, ConfirmRequested("e1", "o2", "loser", 1, "u")


async def test_guard_conflict_refunds_the_hold_and_names_the_seats_sold_elsewhere() -> None:
    tx, message = sold_seat_and_a_paid_loser()
    result = await tx.run(lambda uow: decide_confirmation(uow, message, "refund-1", tx.state.clock, 60))
    assert result.outcome is ConfirmOutcome.REFUND_REQUESTED
    assert result.sold_elsewhere == ("A-1",)
    assert statuses(tx, "loser") == {S.REFUND_PENDING}
    assert tx.state.orders["o2"].status is OrderStatus.REFUND_PENDING
    assert [(topic, key) for topic, key, _ in tx.state.outbox] == [(REFUND_REQUESTED, "o2")]
    assert tx.state.guard == {(1, "A-1"): 1}, "the guard row of the winner is untouched"


async def test_redelivered_decision_is_a_duplicate_that_still_reports_the_refund_state() -> None:
    tx, message = sold_seat_and_a_paid_loser()
    await tx.run(lambda uow: decide_confirmation(uow, message, "refund-1", tx.state.clock, 60))
    again = await tx.run(lambda uow: decide_confirmation(uow, message, "refund-2", tx.state.clock, 60))
    assert again.outcome is ConfirmOutcome.DUPLICATE
    assert again.hold is not None
    assert again.hold.statuses == {S.REFUND_PENDING}
    assert again.sold_elsewhere == ("A-1",), "so the caller can show the seat SOLD again"
    assert len(tx.state.outbox) == 1


async def test_confirm_claims_every_seat_or_none() -> None:
    tx = FakeTransactions()
    add_hold(tx.state, "h1", ["A-1", "A-2"], S.PAYMENT_PENDING)
    add_order(tx.state, "o1", "h1", OrderStatus.PAID)
    result = await tx.run(
        lambda uow: decide_confirmation(uow, ConfirmRequested("e1", "o1", "h1", 1, "u"), "r", tx.state.clock, 60)
    )
    assert result.outcome is ConfirmOutcome.CONFIRMED
    assert sorted(tx.state.guard) == [(1, "A-1"), (1, "A-2")]
    assert statuses(tx, "h1") == {S.CONFIRMED}


@pytest.mark.parametrize(
    ("newer", "expires_in_s", "late_ends"),
    [
        (S.HELD, 30.0, S.REFUND_PENDING),  # a newer buyer within their hold keeps the seat
        (S.PAYMENT_PENDING, 0.0, S.REFUND_PENDING),  # ... or is being paid for it
        (S.HELD, -1.0, S.CONFIRMED),  # a newer hold that lapsed too does not count
        (S.EXPIRED, 0.0, S.CONFIRMED),
        (S.RELEASED, 0.0, S.CONFIRMED),
    ],
)
async def test_a_late_payment_yields_only_to_a_newer_hold_that_is_still_live(
    newer: ReservationStatus, expires_in_s: float, late_ends: ReservationStatus
) -> None:
    tx = FakeTransactions()
    add_hold(tx.state, "late", ["A-1"], S.PAYMENT_PENDING, user="slow", expires_in_s=-5)
    add_order(tx.state, "o1", "late", OrderStatus.PAID, user="slow")
    add_hold(tx.state, "newer", ["A-1"], newer, user="fast", expires_in_s=expires_in_s)
    message = ConfirmRequested("e1", "o1", "late", 1, "slow")
    result = await tx.run(lambda uow: decide_confirmation(uow, message, "r1", tx.state.clock, 60))
    assert statuses(tx, "late") == {late_ends}
    assert statuses(tx, "newer") == {newer}
    if late_ends is S.REFUND_PENDING:
        assert result.outcome is ConfirmOutcome.REFUND_REQUESTED
        assert result.sold_elsewhere == ()  # yielded, not sold: Redis keeps showing the newer hold
        assert tx.state.orders["o1"].status is OrderStatus.REFUND_PENDING
        assert tx.state.guard == {}


@pytest.mark.parametrize("older_first", [True, False])
async def test_of_two_payments_for_one_seat_only_the_older_hold_yields(older_first: bool) -> None:
    tx = FakeTransactions()
    add_hold(tx.state, "older", ["A-1"], S.PAYMENT_PENDING, user="slow", expires_in_s=-5)
    add_order(tx.state, "o1", "older", OrderStatus.PAID, user="slow")
    add_hold(tx.state, "newer", ["A-1"], S.PAYMENT_PENDING, user="fast", expires_in_s=30)
    add_order(tx.state, "o2", "newer", OrderStatus.PAID, user="fast")
    newer = ConfirmRequested("e2", "o2", "newer", 1, "fast")
    older = ConfirmRequested("e1", "o1", "older", 1, "slow")
    # Whichever confirmation runs first, the newer hold gets the seat and the older is refunded.
    for message in (older, newer) if older_first else (newer, older):
        await tx.run(lambda uow, m=message: decide_confirmation(uow, m, f"r-{m.event_id}", tx.state.clock, 60))
    assert (statuses(tx, "newer"), statuses(tx, "older")) == ({S.CONFIRMED}, {S.REFUND_PENDING})


def deadlock() -> OperationalError:
    return OperationalError("UPDATE ...", {}, Exception(1213, "Deadlock found when trying to get lock"))


async def test_retry_policy_runs_a_deadlocked_transaction_again() -> None:
    reasons: list[str] = []
    tries = 0

    async def attempt() -> str:
        nonlocal tries
        tries += 1
        if tries < 3:
            raise deadlock()
        return "done"

    policy = RetryPolicy(attempts=5, base_delay_s=0, on_retry=reasons.append)
    assert await policy.run(attempt) == "done"
    assert reasons == ["deadlock", "deadlock"]


async def test_retry_policy_gives_up_after_its_attempts_and_never_retries_other_errors() -> None:
    async def always_deadlocked() -> None:
        raise deadlock()

    with pytest.raises(OperationalError):
        await RetryPolicy(attempts=3, base_delay_s=0).run(always_deadlocked)

    calls = 0

    async def duplicate_key() -> None:
        nonlocal calls
        calls += 1
        raise OperationalError("INSERT ...", {}, Exception(1062, "Duplicate entry"))

    with pytest.raises(OperationalError):
        await RetryPolicy(attempts=3, base_delay_s=0).run(duplicate_key)
    assert calls == 1


class RecordingLocks:
    def __init__(self) -> None:
        self.released: list[str] = []

    async def release(self, schedule_id: int, user: str, hold_id: str, seat_nos: object) -> int:
        self.released.append(hold_id)
        return 1


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


async def test_expiry_moves_due_holds_to_expired_then_releases_their_locks() -> None:
    tx = FakeTransactions()
    add_hold(tx.state, "due", ["A-1", "A-2"], S.HELD)
    add_hold(tx.state, "paying", ["A-3"], S.PAYMENT_PENDING)
    locks = RecordingLocks()
    expired = await expire_holds(tx, locks, FixedClock(tx.state.clock), 10)  # type: ignore[arg-type]
    assert expired == 2
    assert statuses(tx, "due") == {S.EXPIRED}
    assert statuses(tx, "paying") == {S.PAYMENT_PENDING}
    assert locks.released == ["due"]


def test_a_lock_is_an_orphan_when_its_hold_is_over_or_never_got_a_row_in_time() -> None:
    from ticketing.domain.seat_state import LockSeen, orphaned

    young, old = LockSeen("h1", ttl_left_ms=599_000), LockSeen("h1", ttl_left_ms=500_000)
    assert not orphaned(young, frozenset(), hold_ttl_ms=600_000, orphan_after_ms=30_000)
    assert orphaned(old, frozenset(), hold_ttl_ms=600_000, orphan_after_ms=30_000)
    assert orphaned(young, frozenset({"h1"}), hold_ttl_ms=600_000, orphan_after_ms=30_000)
