"""The federation benchmark's quick mode: through the impairment proxy at 64 kbit/s with
2 % loss, 300 ms latency and an outage (shortened), nothing is lost or doubled, and every
figure is given (no timing thresholds: timings are for BENCHMARKS.md)."""

from __future__ import annotations

import math
from pathlib import Path

from benchmarks.federation import LINE, QUICK, SECTION, exercise, markdown

from tests.federation.support import run


def test_quick_mode_loses_and_doubles_nothing_through_an_outage(tmp_path: Path) -> None:
    rows = []

    async def scenario() -> None:
        rows.append(await exercise(QUICK, tmp_path))

    run(scenario())
    row = rows[0]
    assert LINE.rate_bps == 64_000 and LINE.loss == 0.02
    assert row["reports"] == row["held"] > 0
    assert row["lost"] == 0 and row["doubled"] == 0
    assert row["reconnects"] >= 1  # the outage cut the link
    numbers = [value for value in row.values() if isinstance(value, float)]
    assert all(math.isfinite(value) and value >= 0 for value in numbers)
    assert row["wire_bytes_per_report"] < row["tak_proto_bytes_per_report"]
    text = markdown(row, QUICK, "python benchmarks/federation.py --quick", "now")
    assert text.startswith(SECTION)
