"""The demo memory benchmark: its slope, and a short run that still gives a whole series
(no thresholds on memory or time: figures are for BENCHMARKS.md, never assertions)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from benchmarks.demo_memory import Sample, measure, problems_in, slope, tail_slope


def test_slope_is_the_least_squares_fit() -> None:
    assert slope([(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]) == pytest.approx(2.0)
    assert slope([(0.0, 1.0), (1.0, 0.0), (2.0, 1.0)]) == pytest.approx(0.0)
    assert slope([(3.0, 7.0)]) == 0.0


def test_the_tail_slope_uses_the_last_minutes_only() -> None:
    samples = [Sample(float(m), 100.0 + (10.0 * m if m < 10 else 100.0), 0, 0) for m in range(31)]
    assert tail_slope(samples, 20.0) == pytest.approx(0.0)
    assert tail_slope(samples, 30.0) > 0.0
    assert tail_slope([], 20.0) == 0.0


def test_a_log_with_errors_is_a_problem(tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    log.write_text("sent 10 reports, 5/s, errors 0\rsent 20 reports, 5/s, errors 3\n")
    assert problems_in(log) == ["sent 20 reports, 5/s, errors 3"]
    log.write_text("WARNING start\nsent 20 reports, 5/s, errors 0\nstopping\n")
    assert problems_in(log) == []


@pytest.mark.slow
def test_a_short_run_samples_the_demo(tmp_path: Path) -> None:
    run = asyncio.run(measure(0.2, 4.0, 0.1, tmp_path / "demo.log"))
    assert [sample.minute for sample in run.samples] == pytest.approx(
        [index * 4 / 60 for index in range(4)]
    )
    assert all(sample.rss_mib > 0 for sample in run.samples)
    assert run.samples[-1].seq > 0 and run.samples[-1].tracks > 0
    assert run.sent.startswith("sent ")
    assert run.problems == []
