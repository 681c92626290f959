"""The passes benchmark's harness still runs and gives every figure (no timing thresholds:
timings are for BENCHMARKS.md, never assertions)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

from benchmarks.passes import SECTION, markdown, measure, synthetic_elements

ROOT = Path(__file__).resolve().parents[1]


def test_the_synthetic_catalogue_is_the_same_every_time() -> None:
    assert synthetic_elements(20) == synthetic_elements(20)
    assert len({e.norad_id for e in synthetic_elements(200)}) == 200


def test_a_tiny_run_gives_every_figure() -> None:
    figures = measure(20, 3, 3.0)
    assert all(math.isfinite(value) for value in figures.values()), figures
    assert figures["passes"] > 0
    text = markdown(figures, "python benchmarks/passes.py --quick", "1.0 1.0 1.0")
    assert text.startswith(SECTION) and "passes of 20 satellites over 3 areas" in text


def test_the_quick_mode_runs_as_a_command() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/passes.py", "--quick"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.startswith(SECTION)
