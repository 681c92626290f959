"""Fusion benchmarks: the engine's throughput with 10,000 live tracks, and `tessera fuse`
against Stone Soup on every scenario (``benchmarks/fusion_compare.py``).

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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import fusion_compare  # noqa: E402
from benchmarks.common import moving_batches  # noqa: E402
from tessera.core.fusion.engine import KalmanTracker  # noqa: E402
from tessera.core.labels import ClassificationScheme  # noqa: E402
from tessera.sim.files import write_scenario  # noqa: E402
from tessera.sim.scenario import ScenarioConfig, build  # noqa: E402


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
    plan = fusion_compare.QUICK if args.quick else fusion_compare.FULL
    print(fusion_compare.section(fusion_compare.compare_all(plan), stonesoup_version()))
    return 0


def markdown_throughput(figures: dict[str, float]) -> str:
    return (
        f"Engine throughput, {figures['live_tracks']:,.0f} live tracks, "
        f"{figures['reports']:,.0f} reports in one-second micro-batches: "
        f"**{figures['reports_per_s']:,.0f} reports/s** fused; "
        f"{figures['with_changes_per_s']:,.0f} reports/s with every changed track built "
        "as the API shows it."
    )


if __name__ == "__main__":
    sys.exit(main())
