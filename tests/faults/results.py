"""One row per fault test, and the session-wide table that ``conftest.py`` prints and saves.

The columns, all counted in the private database after the sale settled:

============  =================================================================================
fault         what the test did (free text, short: "kill confirm-consumer mid-sale")
buyers        buyers who took part
paid          orders whose money was captured: status PAID, REFUND_PENDING or REFUNDED
confirmed     paid orders whose every reservation is CONFIRMED
refunded      orders REFUNDED (money returned: a guard conflict, a late payment)
stuck         paid orders neither CONFIRMED nor REFUNDED at the end: must be 0
double_sold   seats with more than one CONFIRMED reservation: must be 0
violations    invariant violations reported by ``ticketing check --grace-s 0``
recovery_s    seconds from the end of the fault until every paid order settled (no fault:
              from the last buyer's answer); ``None``: did not settle within the limit
accepted      buyers the payment provider told "webhook accepted" (200 PAID)
lost          of those, orders the database does not have as paid: must be 0
gave_up       buyers with no final answer within their time budget
5xx           server errors by status: what the buyers saw (``503:40``), and with ``api`` what the
              API's own ``/metrics`` counted, the webhook calls of the payment provider included
              (those the provider retries inside the API, which no buyer sees). A 500 is a bug:
              a dependency that is down must be a 503
============  =================================================================================

Also kept per row (in the JSON, and asserted by the tests): ``confirmed_and_refunded``, orders
whose money went back although a seat of theirs is CONFIRMED (must be 0).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

COLUMNS: tuple[tuple[str, str], ...] = (
    ("fault", "fault"),
    ("buyers", "buyers"),
    ("paid", "paid"),
    ("confirmed", "confirmed"),
    ("refunded", "refunded"),
    ("stuck", "stuck"),
    ("double_sold", "double"),
    ("violations", "violations"),
    ("recovery_s", "recovery_s"),
    ("accepted", "accepted"),
    ("lost", "lost"),
    ("gave_up", "gave_up"),
    ("sale_s", "sale_s"),
    ("five_xx", "5xx"),
)


@dataclass
class FaultResult:
    fault: str
    buyers: int
    paid: int
    confirmed: int
    refunded: int
    stuck: int
    double_sold: int
    violations: int
    recovery_s: float | None
    accepted: int = 0
    lost: int = 0
    gave_up: int = 0
    sale_s: float | None = None
    settled: bool = True
    confirmed_and_refunded: int = 0
    test: str = ""
    violations_by_invariant: dict[str, int] = field(default_factory=dict)
    violation_details: list[dict[str, str]] = field(default_factory=list)
    buyer_outcomes: dict[str, int] = field(default_factory=dict)
    # "hold 503 SEAT_MAP_REBUILDING" (stage, status, code) -> how many answers the buyers saw.
    http_5xx: dict[str, int] = field(default_factory=dict)
    # "POST /api/v1/payments/{order_no}/webhook 500" -> requests the API counted; None: not read.
    server_5xx: dict[str, int] | None = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Nothing stuck, nothing sold twice, no payment lost, no invariant violated, no 500."""
        return (
            self.stuck == 0
            and self.double_sold == 0
            and self.lost == 0
            and self.violations == 0
            and self.confirmed_and_refunded == 0
            and not self.http_500s
        )

    @property
    def http_500s(self) -> dict[str, int]:
        """Every 500 (INTERNAL_ERROR), seen by a buyer or counted by the API."""
        both = {f"buyers saw {k}": n for k, n in self.http_5xx.items()}
        both.update({f"api counted {k}": n for k, n in (self.server_5xx or {}).items()})
        return {k: n for k, n in both.items() if _status(k) == 500}

    @property
    def webhook_5xx(self) -> dict[str, int]:
        """Webhook calls the API answered with a 5xx (by route and status)."""
        return {k: n for k, n in (self.server_5xx or {}).items() if "/webhook" in k}

    @property
    def five_xx(self) -> str:
        by_status: dict[int, int] = {}
        for key, n in self.http_5xx.items():
            by_status[_status(key)] = by_status.get(_status(key), 0) + n
        seen = ",".join(f"{status}:{n}" for status, n in sorted(by_status.items()))
        api = sum(n for k, n in (self.server_5xx or {}).items() if _status(k) == 500)
        return (seen or "-") + (f" api500:{api}" if api else "")

    def cell(self, name: str) -> str:
        value = getattr(self, name)
        if value is None:
            return "not settled" if name == "recovery_s" else "-"
        if isinstance(value, float):
            return f"{value:.1f}"
        return str(value)

    def summary(self) -> str:
        """One line for assertion messages."""
        cells = ", ".join(f"{name}={self.cell(name)}" for name, _ in COLUMNS[1:])
        extra = f"; violations: {self.violations_by_invariant}" if self.violations else ""
        if self.confirmed_and_refunded:
            extra += f"; confirmed_and_refunded={self.confirmed_and_refunded}"
        extra += f"; 5xx seen {self.http_5xx}, api {self.server_5xx}; notes: {self.notes}"
        return f"{self.fault}: {cells}; buyers: {self.buyer_outcomes}{extra}"


def _status(key: str) -> int:
    """The status code in "503 CODE" or "POST /route 503"."""
    for word in key.split():
        if word.isdigit() and len(word) == 3:
            return int(word)
    return 0


class FaultResults:
    """The rows of this test session, in the order the tests added them."""

    def __init__(self) -> None:
        self.rows: list[FaultResult] = []

    def add(self, row: FaultResult) -> FaultResult:
        self.rows.append(row)
        return row

    def render(self) -> str:
        headers = [title for _, title in COLUMNS]
        table = [[row.cell(name) for name, _ in COLUMNS] for row in self.rows]
        widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers)]

        def line(cells: list[str]) -> str:
            first = cells[0].ljust(widths[0])
            return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

        out = [line(headers), "  ".join("-" * w for w in widths)]
        out.extend(line(r) for r in table)
        for row in self.rows:
            if row.violations_by_invariant:
                out.append(f"  {row.fault}: violations by invariant {row.violations_by_invariant}")
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        return {"written_at": datetime.now(UTC).isoformat(), "rows": [asdict(r) for r in self.rows]}

    def write_json(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2))
        return path
