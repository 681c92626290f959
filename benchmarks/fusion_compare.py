"""`tessera fuse` against Stone Soup, side by side, on several seeds of every scenario.

For each scenario variant and seed the simulator writes one ``reports.jsonl`` (with its
truth); the same file goes through the whole `tessera fuse` command, in a process of its
own (start-up, reading, fusing and writing the picture file all counted; the median of
three runs), and through the Stone Soup baseline tracker
(``benchmarks/stonesoup_baseline.py``, its tracking loop alone counted). Both pictures
are scored by ``tessera score``'s scorer: GOSPA (p = 2, c = 500 m) with its parts, and
identity accuracy. Everything is measured in one run.

Usage: python benchmarks/fusion_compare.py [--quick] [--write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import write_section  # noqa: E402
from tessera.scoring.metrics import OverallScore, score_files  # noqa: E402
from tessera.sim.files import write_scenario  # noqa: E402
from tessera.sim.scenario import ScenarioConfig, build  # noqa: E402

SECTION = "### Against Stone Soup, side by side"
EVERY = 10.0

# A baseline tracker: (reports, picture to write, seconds between snapshots) to the wall
# and CPU seconds of its tracking loop.
Baseline = Callable[[Path, Path, float], tuple[float, float]]


@dataclass(frozen=True)
class Plan:
    """What one run simulates: per variant (simulated seconds, reports per second)."""

    seeds: tuple[int, ...]
    variants: dict[str, tuple[float, float]]


# Seeds the engine was never tuned on; half an hour of each variant, the late one long
# enough for imagery arriving an hour after its pass.
FULL = Plan(
    seeds=(101, 202, 303),
    variants={
        "exercise": (1_800.0, 20.0),
        "dense": (1_800.0, 20.0),
        "cluttered": (1_800.0, 20.0),
        "late": (3_900.0, 8.0),
    },
)
QUICK = Plan(
    seeds=(101,),
    variants={
        "exercise": (120.0, 20.0),
        "dense": (120.0, 20.0),
        "cluttered": (120.0, 20.0),
        "late": (3_600.0, 2.0),
    },
)


@dataclass(frozen=True)
class Side:
    """One tracker's figures on one scenario file."""

    seconds: float  # wall time counted (see the module's docstring)
    cpu_seconds: float
    gospa: float
    localisation: float
    missed: float
    false: float
    identity: float


@dataclass(frozen=True)
class Row:
    variant: str
    seed: int
    reports: int
    tessera: Side
    stonesoup: Side


def side(seconds: float, cpu_seconds: float, score: OverallScore) -> Side:
    return Side(
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        gospa=score.mean_gospa or 0.0,
        localisation=score.mean_localisation or 0.0,
        missed=score.mean_missed or 0.0,
        false=score.mean_false or 0.0,
        identity=score.identity_accuracy or 0.0,
    )


def fuse_command(reports: Path, picture: Path, runs: int = 3) -> tuple[float, float]:
    """The whole `tessera fuse` in its own process, ``runs`` times (it takes seconds where
    Stone Soup takes minutes, so one run would leave its figure to the machine's moment):
    the median run's wall and CPU seconds (the writer process's CPU included)."""
    timed = []
    for _ in range(runs):
        before = os.times()
        began = time.perf_counter()
        arguments = ["fuse", "--in", str(reports), "--out", str(picture), "--every", f"{EVERY:g}"]
        done = subprocess.run(
            [sys.executable, "-m", "tessera.cli", *arguments], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"tessera fuse failed ({done.returncode}): {done.stderr}")
        wall = time.perf_counter() - began
        after = os.times()
        cpu = (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )
        timed.append((wall, cpu))
    timed.sort()
    return timed[len(timed) // 2]


def stonesoup_loop(reports: Path, picture: Path, every: float) -> tuple[float, float]:
    """Stone Soup's tracking loop (imported here: it is a benchmark-only dependency)."""
    from benchmarks.stonesoup_baseline import run_baseline

    run = run_baseline(reports, picture, every)
    return run.seconds, run.cpu_seconds


def compare(
    variant: str,
    seed: int,
    duration: float,
    rate: float,
    folder: Path,
    baseline: Baseline = stonesoup_loop,
) -> Row:
    written = write_scenario(build(variant, ScenarioConfig(seed=seed, rate=rate)), folder, duration)
    reports, truth = folder / "reports.jsonl", folder / "truth.jsonl"
    wall, cpu = fuse_command(reports, folder / "tessera.jsonl")
    their_wall, their_cpu = baseline(reports, folder / "stonesoup.jsonl", EVERY)
    return Row(
        variant=variant,
        seed=seed,
        reports=written.reports,
        tessera=side(wall, cpu, score_files(truth, folder / "tessera.jsonl").overall),
        stonesoup=side(
            their_wall, their_cpu, score_files(truth, folder / "stonesoup.jsonl").overall
        ),
    )


def compare_all(
    plan: Plan, folder: Path | None = None, baseline: Baseline = stonesoup_loop
) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = folder or Path(tmp)
        for variant, (duration, rate) in plan.variants.items():
            for seed in plan.seeds:
                print(f"fusion: {variant}, seed {seed} ...", file=sys.stderr, flush=True)
                row = compare(variant, seed, duration, rate, base / f"{variant}-{seed}", baseline)
                print(
                    f"  {row.reports:,} reports: speed {speed_ratio(row):,.1f}x, "
                    f"GOSPA {gospa_ratio(row):.2f}x",
                    file=sys.stderr,
                    flush=True,
                )
                rows.append(row)
    return rows


def rate(reports: int, seconds: float) -> float:
    return reports / max(seconds, 1e-9)


def speed_ratio(row: Row) -> float:
    return rate(row.reports, row.tessera.seconds) / rate(row.reports, row.stonesoup.seconds)


def gospa_ratio(row: Row) -> float:
    return row.tessera.gospa / max(row.stonesoup.gospa, 1e-9)


def markdown(rows: list[Row]) -> str:
    """The per-variant table (means over seeds; its rows are what BENCHMARKS.md's summary
    reads), the ratios over the whole run, then every scenario file's own figures."""
    seeds = sorted({row.seed for row in rows})
    lines = [
        "| scenario | reports | engine | reports/s | GOSPA (m) | localisation (m²) "
        "| missed | false | identity |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    variants = list(dict.fromkeys(row.variant for row in rows))
    for variant in variants:
        mine = [row for row in rows if row.variant == variant]
        total = sum(row.reports for row in mine)
        rates: dict[str, float] = {}
        means: dict[str, float] = {}
        for name in ("tessera", "stonesoup"):
            sides = [getattr(row, name) for row in mine]
            rates[name] = rate(total, sum(s.seconds for s in sides))
            means[name] = statistics.mean(s.gospa for s in sides)
            lines.append(
                f"| {variant} | {total:,} | {name} | {rates[name]:,.0f} "
                f"| {means[name]:,.0f} "
                f"| {statistics.mean(s.localisation for s in sides):,.0f} "
                f"| {statistics.mean(s.missed for s in sides):.1f} "
                f"| {statistics.mean(s.false for s in sides):.1f} "
                f"| {statistics.mean(s.identity for s in sides):.3f} |"
            )
        speed = rates["tessera"] / max(rates["stonesoup"], 1e-9)
        quality = means["tessera"] / max(means["stonesoup"], 1e-9)
        lines.append(
            f"| {variant} | | **ratio** | **{speed:,.0f}x** | **{quality:.2f}x** | | | | |"
        )
    speeds = [speed_ratio(row) for row in rows]
    gospas = [gospa_ratio(row) for row in rows]
    identity = min(row.tessera.identity for row in rows)
    lines += [
        "",
        f"Over all {len(rows)} scenario files ({len(variants)} variants, seeds "
        f"{', '.join(map(str, seeds))}): `tessera fuse` runs **{min(speeds):,.0f}-"
        f"{max(speeds):,.0f}x** Stone Soup's reports/s (mean {statistics.mean(speeds):,.0f}x); "
        f"its GOSPA is **{min(gospas):.2f}-{max(gospas):.2f}x** Stone Soup's (mean "
        f"{statistics.mean(gospas):.2f}x); its identity accuracy at least {identity:.3f}.",
        "",
        "| scenario | seed | reports | fuse reports/s | fuse CPU reports/s "
        "| Stone Soup reports/s | Stone Soup CPU reports/s | speed ratio | GOSPA Tessera "
        "| GOSPA Stone Soup | GOSPA ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ours, theirs = row.tessera, row.stonesoup
        lines.append(
            f"| {row.variant} | {row.seed} | {row.reports:,} "
            f"| {rate(row.reports, ours.seconds):,.0f} "
            f"| {rate(row.reports, ours.cpu_seconds):,.0f} "
            f"| {rate(row.reports, theirs.seconds):,.0f} "
            f"| {rate(row.reports, theirs.cpu_seconds):,.0f} | {speed_ratio(row):,.0f}x "
            f"| {ours.gospa:,.0f} | {theirs.gospa:,.0f} | {gospa_ratio(row):.2f}x |"
        )
    return "\n".join(lines)


def section(rows: list[Row], stonesoup_version: str) -> str:
    return f"""{SECTION}

`python benchmarks/fusion_compare.py` (part of `make bench`). Each scenario variant of the
project's simulator (`tessera simulate`: the exercise; a dense column watched by drones
and patrols; open sources posting mostly false reports; imagery batches arriving an hour
after their pass) is written once per seed, and the same `reports.jsonl` goes through
the whole `tessera fuse` command with its defaults, which are the server's (each received
time a micro-batch of its own, as each commit is on the server), in a process of its own
(start-up, reading, fusing, a picture snapshot every {EVERY:g} s written to its file; the
median of three runs) and through a Stone Soup
{stonesoup_version} tracker built the usual way (`benchmarks/stonesoup_baseline.py`:
constant-velocity Kalman, Mahalanobis distance hypothesiser, GNN with 2-D assignment
behind Stone Soup's k-d tree pre-gate, update-time deleter, multi-measurement initiator;
one scan per received second), of which only the tracking loop is timed (no start-up,
reading or writing). reports/s is wall time, CPU reports/s the same over CPU time (the
steadier figure on a busy machine; `tessera fuse`'s counts its picture writer's too, a
process of its own on the other core, so it is below its wall figure). Both pictures
are scored by `tessera score` against the simulator's truth: GOSPA (p = 2, c = 500 m,
alpha = 2) mean over snapshots with its parts (localisation in m², missed and false as
counts per snapshot), identity accuracy on matched tracks. The GOSPA ratio is Tessera's
over Stone Soup's (lower is better); the speed ratio Tessera's reports/s over Stone Soup's.
Per-variant rows sum the reports and times of the seeds and average the scores.

{markdown(rows)}

Targets: GOSPA at most 0.80x Stone Soup's, identity accuracy at least 0.99, `tessera
fuse` at least 100 times Stone Soup's reports/s.
"""


def stonesoup_version() -> str:
    from importlib.metadata import version

    return version("stonesoup")


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--quick", action="store_true", help="one seed, short scenarios")
    options.add_argument("--write", action="store_true", help="write BENCHMARKS.md's section")
    args = options.parse_args(argv)
    text = section(compare_all(QUICK if args.quick else FULL), stonesoup_version())
    print(text)
    if args.write:
        write_section(ROOT / "BENCHMARKS.md", SECTION, text, deeper=True)
        print("wrote BENCHMARKS.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
