"""The feeds benchmark's quick mode runs every feed kind and gives every figure (no timing
thresholds: timings are for BENCHMARKS.md, never assertions)."""

from __future__ import annotations

import math

from benchmarks.feeds import QUICK, RECORDINGS, SECTION, markdown, measure, objects_for


def test_quick_mode_decodes_and_fuses_every_message_of_every_kind() -> None:
    rows = {kind: measure(kind, QUICK) for kind in RECORDINGS}
    for kind, row in rows.items():
        assert all(math.isfinite(value) and value > 0 for value in row.values()), kind
        assert row["messages"] == objects_for(kind, QUICK) * QUICK.seconds, kind
        assert row["live_tracks"] == objects_for(kind, QUICK), kind
    text = markdown(rows, QUICK, "python benchmarks/feeds.py --quick", "now")
    assert text.startswith(SECTION)
    assert all(f"| {kind} |" in text for kind in RECORDINGS)
