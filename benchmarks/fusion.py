"""Fusion benchmarks: Tessera's engine against Stone Soup on every scenario, and the
engine's throughput with 10,000 live tracks.

Usage: python benchmarks/fusion.py [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import moving_batches  # noqa: E402
from benchmarks.stonesoup_baseline import run_baseline  # noqa: E402
from tessera.batchfuse.run import fuse_file  # noqa: E402
from tessera.core.fusion.engine import KalmanTracker  # noqa: E402
from tessera.core.labels import ClassificationScheme  # noqa: E402
from tessera.scoring.metrics import score_files  # noqa: E402
from tessera.sim.files import write_scenario  # noqa: E402
from tessera.sim.scenario import ScenarioConfig, build  # noqa: E402

# Scenario, simulated seconds, reports per second (late: long enough for hour-late imagery).
SCENARIOS: list[tuple[str, float, float]] = [
    ("exercise", 180.0, 200.0),
    ("dense", 180.0, 200.0),
    ("cluttered", 180.0, 200.0),
    ("late", 3_900.0, 8.0),
]
EVERY = 10.0


def compare(name: str, duration: float, rate: float, folder: Path) -> dict[str, Any]:
    scenario = build(name, ScenarioConfig(seed=7, rate=rate))
    written = write_scenario(scenario, folder, duration)
    reports = folder / "reports.jsonl"
    ours = fuse_file(reports, folder / "tessera.jsonl", EVERY)
    theirs = run_baseline(reports, folder / "stonesoup.jsonl", EVERY)
    truth = folder / "truth.jsonl"
    row: dict[str, Any] = {"scenario": name, "reports": written.reports}
    for side, picture, seconds in (
        ("tessera", folder / "tessera.jsonl", ours.engine_seconds),
        ("stonesoup", folder / "stonesoup.jsonl", theirs.seconds),
    ):
        overall = score_files(truth, picture).overall
        row[side] = {
            "reports_per_s": written.reports / max(seconds, 1e-9),
            "whole_per_s": written.reports / max(ours.seconds, 1e-9),
            "gospa": overall.mean_gospa or 0.0,
            "localisation": overall.mean_localisation or 0.0,
            "missed": overall.mean_missed or 0.0,
            "false": overall.mean_false or 0.0,
            "purity": overall.mean_purity or 0.0,
            "identity": overall.identity_accuracy or 0.0,
        }
    return row


def throughput(tracks: int = 10_000, seconds: int = 30, seed: int = 3) -> dict[str, float]:
    """Reports fused per second of one core, with ``tracks`` live tracks: 60 % of them
    units reporting themselves, the rest seen by drones (anonymous), one report each per
    second, fed in one-second micro-batches."""
    start = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    batches = moving_batches(tracks, seconds, seed=seed, start=start, prefix="tp")
    serial = sum(len(batch) for batch in batches)
    # Fusion alone: the picture is kept, and read on demand.
    engine = KalmanTracker(ClassificationScheme())
    began = time.perf_counter()
    for batch in batches:
        engine.feed(batch)
        engine.flush((batch[-1].received_at or start).timestamp())
        engine.forget_changes()
    fused = time.perf_counter() - began
    # As the live server runs it: every changed track also built as the API shows it.
    live = KalmanTracker(ClassificationScheme())
    began = time.perf_counter()
    for batch in batches:
        live.step(batch[-1].received_at or start, batch)
    with_changes = time.perf_counter() - began
    return {
        "reports": float(serial),
        "reports_per_s": serial / fused,
        "with_changes_per_s": serial / with_changes,
        "live_tracks": float(engine.live_count()),
    }


THROUGHPUT_NOTE = (
    "10,000 objects spread over northern Poland, 60 % units reporting themselves with "
    "their velocity, 40 % seen by drones anonymously, each reported once a second for 30 s"
)


def stonesoup_version() -> str:
    from importlib.metadata import version

    return version("stonesoup")


def compare_all(quick: bool = False) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, duration, rate in SCENARIOS:
            if quick:
                duration = min(duration, 120.0)
            print(f"fusion: scenario {name} ...", file=sys.stderr, flush=True)
            rows.append(compare(name, duration, rate, Path(tmp) / name))
    return rows


def million(reports: int = 1_000_000) -> dict[str, float]:
    """``tessera fuse`` in its own process over a tenth of ``reports`` and over all of
    them: peak memory (its own, read at its exit) against the size of the file it read.
    Bounded memory means the peak does not grow with the file."""
    rate = 200.0
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, count in (("tenth", reports // 10), ("whole", reports)):
            folder = Path(tmp) / label
            scenario = build("exercise", ScenarioConfig(seed=11, rate=rate))
            written = write_scenario(scenario, folder, count / rate)
            began = time.perf_counter()
            peak_kib = _fuse_peak_kib(folder)
            figures[f"{label}_per_s"] = written.reports / (time.perf_counter() - began)
            figures[f"{label}_reports"] = float(written.reports)
            figures[f"{label}_file_mib"] = (folder / "reports.jsonl").stat().st_size / 2**20
            figures[f"{label}_peak_mib"] = peak_kib / 1024
    return figures


def _fuse_peak_kib(folder: Path) -> int:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking parent.
    program = (
        "import sys\n"
        "from tessera.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "status = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
        "print(status)\n"
        "sys.exit(code)\n"
    )
    arguments = ["fuse", "--in", str(folder / "reports.jsonl"), "--out", str(folder / "p.jsonl")]
    done = subprocess.run(
        [sys.executable, "-c", program, *arguments], check=True, capture_output=True, text=True
    )
    return int(done.stdout.split()[-1])


def markdown_million(figures: dict[str, float]) -> str:
    return (
        "`tessera fuse` in its own process, peak memory against input: "
        f"{figures['tenth_reports']:,.0f} reports ({figures['tenth_file_mib']:,.0f} MiB) "
        f"peaked at {figures['tenth_peak_mib']:,.0f} MiB; "
        f"{figures['whole_reports']:,.0f} reports ({figures['whole_file_mib']:,.0f} MiB) "
        f"at {figures['whole_peak_mib']:,.0f} MiB, at {figures['whole_per_s']:,.0f} reports/s "
        "for the whole command (start-up, reading, fusing, a snapshot every 10 s)."
    )


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--quick", action="store_true", help="short scenarios")
    options.add_argument("--million", action="store_true", help="only the million-report run")
    args = options.parse_args()
    if args.million:
        print(markdown_million(million()))
        return 0
    print(markdown_throughput(throughput()), flush=True)
    print(markdown_comparison(compare_all(args.quick)))
    return 0


def markdown_throughput(figures: dict[str, float]) -> str:
    return (
        f"Engine throughput, {figures['live_tracks']:,.0f} live tracks, "
        f"{figures['reports']:,.0f} reports in one-second micro-batches: "
        f"**{figures['reports_per_s']:,.0f} reports/s** fused; "
        f"{figures['with_changes_per_s']:,.0f} reports/s with every changed track built "
        "as the API shows it."
    )


def markdown_comparison(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| scenario | reports | engine | reports/s | GOSPA (m) | localisation (m²) "
        "| missed | false | purity | identity |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        for side in ("tessera", "stonesoup"):
            f = row[side]
            lines.append(
                f"| {row['scenario']} | {row['reports']:,} | {side} | {f['reports_per_s']:,.0f} "
                f"| {f['gospa']:,.0f} | {f['localisation']:,.0f} | {f['missed']:.1f} "
                f"| {f['false']:.1f} | {f['purity']:.2f} | {f['identity']:.2f} |"
            )
        ours, theirs = row["tessera"], row["stonesoup"]
        lower = 1 - ours["gospa"] / max(theirs["gospa"], 1e-9)
        speed = ours["reports_per_s"] / max(theirs["reports_per_s"], 1e-9)
        lines.append(
            f"| {row['scenario']} | | **ratio** | **{speed:,.0f}x** | **{lower:+.0%} lower** "
            "| | | | | |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
