"""The hold expirer and the reconciler on a host whose clock is 20 s fast, or 20 s slow (libfaketime).

Hold expiry is judged by the database's clock: a fast worker must not take live holds
(every buyer paying within the TTL keeps the seat: 0 refunds), a slow one must not keep
dead holds (a hold left unpaid is expired within its TTL plus the expirer's pace, and
its seat comes back).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.faults.clock_skew import libfaketime, measured_skew_s, process_skew, skewed_env
from tests.faults.recovery import assert_recovered
from tests.faults.results import FaultResults
from tests.faults.sale import Sale, SalePlan
from tests.faults.stack import Stack

pytestmark = [
    pytest.mark.faults,
    pytest.mark.faults_slow,
    pytest.mark.timeout(300),
    pytest.mark.skipif(libfaketime() is None, reason="libfaketime is missing: `make fault-tools` installs it"),
]

BUYERS = 200
SKEW_S = 20
HOLD_TTL_S = 10
EXPIRED_WITHIN_S = 4.0  # after expires_at: the expirer runs every 1 s, this test looks every 0.25 s
SKEWED = ("hold-expirer", "reconciler")


def skewed(offset_s: int) -> pytest.MarkDecorator:
    return pytest.mark.stack_env(process_env=dict.fromkeys(SKEWED, skewed_env(offset_s)))


def assert_workers_run_skewed(stack: Stack, offset_s: int) -> None:
    wall_skew, now_skew = measured_skew_s(offset_s)
    assert abs(wall_skew - offset_s) < 2, f"faketime shifted time.time() by {wall_skew:.1f} s"
    assert abs(now_skew - offset_s) < 2, f"faketime shifted datetime.now() by {now_skew:.1f} s"
    skews = {name: process_skew(stack.pid(name) or 0) for name in SKEWED}
    assert skews == dict.fromkeys(SKEWED, f"{offset_s:+d}s"), f"FAKETIME of the workers: {skews}"


@skewed(+SKEW_S)
async def test_hold_expirer_20_s_fast_takes_no_hold_that_is_paid_within_its_ttl(
    fault_stack: Stack, fault_results: FaultResults
) -> None:
    assert_workers_run_skewed(fault_stack, +SKEW_S)
    plan = SalePlan(buyers=BUYERS, hold_ttl_s=HOLD_TTL_S, arrival_s=3.0, pay_delay_s=(1.0, 3.0))
    sale = await Sale.open(fault_stack, plan)
    sale.fault_began()
    await sale.run()
    sale.fault_ended()
    expired = await fault_stack.db_rows(
        sa.text("SELECT COUNT(*) FROM reservation WHERE schedule_id = :s AND status = 'EXPIRED'"),
        {"s": sale.schedule_id},
    )
    notes = [f"{expired[0][0]} reservations expired"]
    row = fault_results.add(await sale.finish("expirer+reconciler clock 20 s fast", "test_clock_skew", notes))

    assert_recovered(row)
    assert row.buyer_outcomes == {"paid": BUYERS}, sale.failures()
    assert (row.confirmed, row.refunded, expired[0][0]) == (BUYERS, 0, 0), row.summary()


@skewed(-SKEW_S)
async def test_hold_expirer_20_s_slow_still_expires_an_unpaid_hold_on_time_and_frees_its_seat(
    fault_stack: Stack, fault_results: FaultResults
) -> None:
    assert_workers_run_skewed(fault_stack, -SKEW_S)
    plan = SalePlan(buyers=BUYERS, hold_ttl_s=HOLD_TTL_S, arrival_s=3.0, walk_away_every=5)
    sale = await Sale.open(fault_stack, plan)
    walkers = [b for b in sale.buyers if plan.walks_away(b.index)]
    late_s: dict[str, float] = {}  # hold id -> seconds from its expires_at until seen EXPIRED

    async def watch_walkers_holds(sale: Sale) -> None:
        query = sa.text(
            "SELECT hold_id, MIN(expires_at) FROM reservation WHERE schedule_id = :s AND status = 'EXPIRED'"
            " GROUP BY hold_id"
        )
        deadline = time.monotonic() + HOLD_TTL_S + 60
        while len(late_s) < len(walkers) and time.monotonic() < deadline:
            seen_at = datetime.now(UTC)
            for hold_id, expires_at in await fault_stack.db_rows(query, {"s": sale.schedule_id}):
                late_s.setdefault(str(hold_id), (seen_at - expires_at.replace(tzinfo=UTC)).total_seconds())
            await asyncio.sleep(0.25)

    sale.fault_began()
    await sale.run(watch_walkers_holds)
    seat_map = await sale.seat_statuses()
    worst = max(late_s.values(), default=None)
    notes = [f"{len(late_s)} of {len(walkers)} unpaid holds expired, at worst {worst} s after expires_at"]
    row = fault_results.add(await sale.finish("expirer+reconciler clock 20 s slow", "test_clock_skew", notes))

    assert_recovered(row)
    assert {b.hold_id for b in walkers} == set(late_s), notes
    assert worst is not None, notes
    assert worst <= EXPIRED_WITHIN_S, notes
    walkers_seats = {b.seat_no: seat_map[b.seat_no] for b in walkers}
    assert set(walkers_seats.values()) == {"AVAILABLE"}, walkers_seats
    assert row.buyer_outcomes == {"paid": BUYERS - len(walkers), "walked_away": len(walkers)}, sale.failures()
