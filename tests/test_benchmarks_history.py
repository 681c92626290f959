"""The history benchmark's harness still runs and gives every figure (no timing
thresholds: timings are for BENCHMARKS.md, never assertions)."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
from benchmarks.history import SECTION, Sizes, markdown, measure

pytestmark = pytest.mark.slow


def test_a_tiny_run_gives_every_figure(tmp_path: Path) -> None:
    figures = asyncio.run(measure(Sizes(0.002, 2, replays=1, replay_minutes=0.05), tmp_path))
    assert all(math.isfinite(value) for value in figures.values()), figures
    assert figures["reports"] > 0 and figures["snapshots"] >= 1
    assert figures["seeks"] == 2 and figures["replays"] == 1
    text = markdown(figures, "python benchmarks/history.py --quick", "now", "1.0 1.0 1.0")
    assert text.startswith(SECTION) and "| seek, slowest |" in text
