"""ETA, poll pacing and the mapping of script replies to queue statuses."""

from datetime import UTC, datetime

import pytest

from ticketing.adapters.redis.waiting_room import status_from_reply
from ticketing.domain.catalog import QueuePolicy
from ticketing.domain.waiting_room import (
    MAX_POLL_MS,
    MIN_POLL_MS,
    Admitted,
    NotInQueue,
    Waiting,
    estimate_wait_s,
    nominal_admission_rate,
    poll_after_ms,
)

POLICY = QueuePolicy(capacity=100, pass_ttl_s=50, admit_per_tick=10)


def test_nobody_ahead_means_no_wait() -> None:
    assert estimate_wait_s(0, 5.0, POLICY) == 0


def test_eta_is_people_ahead_over_measured_rate_rounded_up() -> None:
    assert estimate_wait_s(10, 4.0, POLICY) == 3
    assert estimate_wait_s(1000, 100.0, POLICY) == 10


def test_eta_falls_back_to_capacity_over_pass_ttl_before_any_measurement() -> None:
    assert nominal_admission_rate(POLICY) == 2.0
    assert estimate_wait_s(10, 0.0, POLICY) == 5


def test_poll_pacing_is_short_near_the_front_and_long_far_back() -> None:
    assert poll_after_ms(0) == MIN_POLL_MS
    assert poll_after_ms(6) == 2000
    assert poll_after_ms(60) == 20_000
    assert poll_after_ms(10_000, pass_ttl_s=600) == MAX_POLL_MS
    assert poll_after_ms(1) < poll_after_ms(30) < poll_after_ms(90)


def test_poll_pacing_stays_within_a_third_of_the_pass_ttl() -> None:
    assert poll_after_ms(10_000, pass_ttl_s=9) == 3000
    assert poll_after_ms(10_000, pass_ttl_s=1) == MIN_POLL_MS


def test_poll_pacing_scatters_a_crowd_by_twenty_percent() -> None:
    assert poll_after_ms(60, spread=0.0) == 16_000
    assert poll_after_ms(60, spread=0.999) == 23_992
    assert len({poll_after_ms(60, spread=s / 10) for s in range(10)}) == 10


def test_admitted_reply_maps_to_admitted_with_expiry() -> None:
    status = status_from_reply([1, 1_767_225_600_000], POLICY)
    assert status == Admitted(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("rate", [b"2.000", "2.000"])
def test_waiting_reply_maps_to_position_eta_and_pacing(rate: bytes | str) -> None:
    status = status_from_reply([0, 57, 9, rate], POLICY)
    assert isinstance(status, Waiting)
    assert (status.ticket, status.ahead, status.position) == (57, 9, 10)
    assert status.eta_s == 5
    assert 0.8 * poll_after_ms(5) <= status.poll_after_ms <= 1.2 * poll_after_ms(5)


def test_not_in_queue_reply_maps_to_not_in_queue() -> None:
    assert status_from_reply([-1], POLICY) == NotInQueue()
