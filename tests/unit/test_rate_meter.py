"""The advancer's admission rate: counts over whole windows, never a single tick's burst."""

from __future__ import annotations

from ticketing.workers.queue_advancer import RateMeter


def test_no_rate_until_the_first_window_closes() -> None:
    meter = RateMeter(started_s=100.0, window_s=5.0)
    assert meter.add(20, 100.2) is None
    assert meter.add(20, 104.9) is None


def test_rate_is_the_window_count_over_its_length() -> None:
    meter = RateMeter(started_s=100.0, window_s=5.0)
    meter.add(20, 100.2)
    meter.add(0, 102.0)
    assert meter.add(30, 105.0) == 10.0


def test_each_window_starts_where_the_last_closed() -> None:
    meter = RateMeter(started_s=0.0, window_s=1.0)
    assert meter.add(5, 1.0) == 5.0
    assert meter.add(0, 1.5) is None
    assert meter.add(0, 2.0) == 0.0
