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
============  =================================================================================
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
    test: str = ""
    violations_by_invariant: dict[str, int] = field(default_factory=dict)
    violation_details: list[dict[str, str]] = field(default_factory=list)
    buyer_outcomes: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Nothing stuck, nothing sold twice, no payment lost, no invariant violated."""
        return self.stuck == 0 and self.double_sold == 0 and self.lost == 0 and self.violations == 0

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
        return f"{self.fault}: {cells}; buyers: {self.buyer_outcomes}{extra}"


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
