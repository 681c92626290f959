"""The history benchmark's harness still runs and gives every figure (no timing
thresholds: timings are for BENCHMARKS.md, never assertions)."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
from benchmarks import history
from benchmarks.history import SECTION, Sizes, markdown, measure

pytestmark = pytest.mark.slow


def test_a_tiny_run_gives_every_figure(tmp_path: Path) -> None:
    figures = asyncio.run(measure(Sizes(0.002, 2, replays=1, replay_minutes=0.05), tmp_path))
    assert all(math.isfinite(value) for value in figures.values()), figures
    assert figures["reports"] > 0 and figures["snapshots"] >= 1
    assert figures["seeks"] == 2 and figures["replays"] == 1
    text = markdown(figures, "python benchmarks/history.py --quick", "now", "1.0 1.0 1.0")
    assert text.startswith(SECTION) and "| seek, slowest |" in text


def test_the_repeated_exercise_is_received_in_time_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # A short cycle: its late reports (open sources, satellite batches) are sent during
    # the cycles after it, which a live journal receives in time order like the rest.
    monkeypatch.setattr(history, "CYCLE_HOURS", 0.005)
    commits = list(history.seconds_of_reports(0.02, seed=5))
    times = [at for at, _ in commits]
    assert times == sorted(times) and len(set(times)) == len(times)
    ids = [report.id for _, reports in commits for report in reports]
    assert len(set(ids)) == len(ids)
    assert any(report.id.endswith("-3") for _, reports in commits for report in reports)
    late = [
        report
        for at, reports in commits
        for report in reports
        if (at - report.observed_at).total_seconds() > 0.005 * 3_600
    ]
    assert late, "the exercise sends reports later than a cycle"


def test_a_kept_folder_is_measured_again_without_a_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = Sizes(0.002, 1, replays=1, replay_minutes=0.05)
    first = asyncio.run(measure(sizes, tmp_path))
    assert history.built_in(tmp_path)["reports"] == first["reports"]

    async def no_journal(path: Path, hours: float) -> tuple[int, float]:
        raise AssertionError("the kept journal was written again")

    monkeypatch.setattr(history, "write_journal", no_journal)
    again = asyncio.run(measure(sizes, tmp_path))
    assert again["reports"] == first["reports"] and again["rebuild_s"] == first["rebuild_s"]
    assert again["snapshots"] == first["snapshots"]


def test_an_unfinished_build_is_started_again(tmp_path: Path) -> None:
    (tmp_path / "journal.sqlite3").write_bytes(b"half a journal")
    assert history.built_in(tmp_path) == {}
    assert not (tmp_path / "journal.sqlite3").exists()


def test_an_unfinished_build_leaves_other_files_alone(tmp_path: Path) -> None:
    (tmp_path / "history.sqlite3-wal").write_bytes(b"half a history")
    (tmp_path / "other.sqlite3").write_bytes(b"someone else's")
    assert history.built_in(tmp_path) == {}
    assert [path.name for path in tmp_path.iterdir()] == ["other.sqlite3"]
