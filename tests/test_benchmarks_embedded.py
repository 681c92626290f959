"""The embedded restart benchmark's quick mode still runs and gives every figure (no timing
thresholds: timings are for BENCHMARKS.md, never assertions)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from benchmarks.embedded_restart import QUICK, SECTION, markdown, measure

pytestmark = pytest.mark.slow


def test_quick_mode_gives_every_figure(tmp_path: Path) -> None:
    figures = measure(QUICK, 1, tmp_path)
    assert all(math.isfinite(value) for value in figures.values()), figures
    assert figures["reports"] == QUICK.reports and figures["tail"] == QUICK.tail
    for key in ("full", "restart"):
        assert 0 < figures[f"{key}_http_s"] <= figures[f"{key}_caught_up_s"], key
    text = markdown(figures, "python benchmarks/embedded_restart.py --quick", "now", "here")
    assert text.startswith(SECTION)
    assert (
        "| (a) no checkpoint: full replay in the background |" in text
        and "| ratio (a) / (b) |" in text
    )
