"""What every fault test demands of the service once the fault is over.

``assert_recovered(row)`` is the common verdict, each part with the row in its message:

- every paid order CONFIRMED or REFUNDED within ``within_s`` of the fault's end;
- no seat confirmed twice, no order both refunded and holding a confirmed seat;
- no payment the provider was told was accepted missing from the database;
- ``ticketing check`` finds no broken invariant (FIFO admission among them);
- no 500, neither seen by a buyer nor counted by the API (webhooks included): a dependency
  that is down is a 503 with Retry-After.
"""

from __future__ import annotations

from tests.faults.results import FaultResult

SETTLE_WITHIN_S = 60.0


def assert_recovered(row: FaultResult, within_s: float = SETTLE_WITHIN_S) -> None:
    summary = row.summary()
    assert row.settled, f"paid orders left neither CONFIRMED nor REFUNDED: {summary}"
    assert row.stuck == 0, summary
    assert row.recovery_s is not None, summary
    assert row.recovery_s <= within_s, summary
    assert row.double_sold == 0, f"a seat was confirmed twice: {summary}"
    assert row.confirmed_and_refunded == 0, f"an order was refunded and kept its seat: {summary}"
    assert row.lost == 0, f"accepted payments missing from the database: {summary}"
    assert row.violations == 0, f"{summary}\n{row.violation_details[:10]}"
    assert row.server_5xx is not None, f"the API's /metrics could not be read: {summary}"
    assert not row.http_500s, f"500s while a dependency was down (must be 503): {row.http_500s}; {summary}"
