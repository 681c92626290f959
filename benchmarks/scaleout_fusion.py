"""One fusion worker on the scale-out backends (JetStream journal, PostGIS store, NATS
change feed): catch-up and live following; and a gateway's memory per live track.

Catch-up: a burst (objects reported once a second, 60 % units reporting themselves, 40 %
anonymous drone detections, as ``benchmarks/fusion.py``) is appended straight into a
fresh JetStream journal, each second's reports stamped at the second they were received;
then a fusion worker starts on it. Timed from its ``fusion active`` line to ``fusion
caught up`` (fused in memory) and to every picture's stored journal position in PostGIS
(the ``pictures`` table) reaching the burst's end. The baseline is the same burst in a
SQLite journal, replayed by the embedded default (in-memory store) in a process of its
own: ``build(settings)`` and ``Tessera.start()``, less the same on an empty folder.

Live (``benchmarks/scaleout_live.py``): the worker caught up, unit self-reports go in at
steady rates; the lag is from an append's acknowledgement to the change carrying that
report arriving on the NATS change feed. Memory: ``benchmarks/scaleout_memory.py``.

``python benchmarks/scaleout_fusion.py [--quick]``; needs the machine's NATS and
PostgreSQL with PostGIS; each part makes its own database and streams and removes them.
The fusion worker logs at info level; its log is kept (``--logs DIR``, a temporary
folder otherwise) and the lines saying something went wrong are printed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import cluster  # noqa: E402
from benchmarks.common import moving_batches  # noqa: E402
from benchmarks.scaleout_live import Window, live  # noqa: E402
from benchmarks.scaleout_memory import gateway_memory  # noqa: E402
from tessera.app import build  # noqa: E402
from tessera.core.model import Report  # noqa: E402
from tessera.journal.base import Journal  # noqa: E402
from tessera.journal.sqlite import SqliteJournal  # noqa: E402
from tessera.server import tune_collector  # noqa: E402
from tessera.settings import Settings  # noqa: E402

CATCH_UP_TIMEOUT_S = 900.0


class Sizes(msgspec.Struct, frozen=True):
    objects: int  # in the burst, each reported once a second ...
    seconds: int  # ... for this long
    rates: tuple[float, ...]  # live, reports/s
    window: Window
    tracks: int  # in the gateway-memory picture
    lineage_units: int  # then this many units report ...
    lineage_reports: int  # ... this many times each


FULL = Sizes(10_000, 30, (1_000.0, 3_000.0, 10_000.0), Window(2.0, 10.0, 30.0), 50_000, 2_000, 200)
QUICK = Sizes(1_000, 4, (300.0, 1_000.0), Window(0.5, 2.0, 3.0), 2_000, 50, 20)


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Clock:
    """The journal's clock during a preload: set to each second's received time."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now


def burst(sizes: Sizes) -> list[list[Report]]:
    # Received up to the present, so the worker's first ticks age nothing unduly.
    start = utc_now() - timedelta(seconds=sizes.seconds + 1)
    prefix = f"b{secrets.token_hex(3)}"
    return moving_batches(sizes.objects, sizes.seconds, seed=3, start=start, prefix=prefix)


async def fill(target: Journal, clock: _Clock, batches: list[list[Report]]) -> tuple[int, float]:
    """Append the burst, each second's reports stamped at their received time; the last
    seq and reports/s appended."""
    await target.open()
    try:
        last, began = 0, time.perf_counter()
        for batch in batches:
            clock.now = batch[0].received_at or utc_now()
            last = await cluster.append_all(target, batch)
        return last, sum(map(len, batches)) / (time.perf_counter() - began)
    finally:
        await target.close()


async def catch_up(fresh: cluster.Deployment, batches: list[list[Report]]) -> dict[str, float]:
    clock = _Clock()
    end, appended = await fill(cluster.journal(fresh, clock), clock, batches)
    worker = await fresh.start("fusion", log_level="info")
    active, _ = await worker.line("fusion active")
    stored = asyncio.create_task(cluster.wait_stored(fresh.dsn, end, CATCH_UP_TIMEOUT_S))
    caught, _ = await worker.line("fusion caught up", CATCH_UP_TIMEOUT_S)
    written, _ = await stored
    figures = {
        "reports": float(end),
        "append_per_s": appended,
        "memory_s": caught - active,
        "memory_per_s": end / (caught - active),
        "postgis_s": written - active,
        "postgis_per_s": end / (written - active),
        "tracks": float(await cluster.stored_tracks(fresh.dsn)),
    }
    # The worker also copies every report into PostGIS (the report archive), after the
    # pictures: the live part waits for that too.
    archived = await cluster.wait_archived(fresh.dsn, end, CATCH_UP_TIMEOUT_S)
    if archived is not None:
        figures["archive_s"] = archived - active
        figures["archive_per_s"] = end / (archived - active)
    return figures


async def embedded_catch_up(batches: list[list[Report]]) -> dict[str, float]:
    """The embedded default (SQLite journal, in-memory store) replaying the burst: from
    ``build(settings)`` to the end of ``Tessera.start()``, in a process of its own, less
    the same on an empty data folder."""
    with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as full:
        clock = _Clock()
        await fill(SqliteJournal(Path(full) / "journal.sqlite3", clock=clock), clock, batches)
        started = [await _embedded_start(folder) for folder in (empty, full)]
    reports = sum(map(len, batches))
    catch_up = max(started[1] - started[0], 1e-3)
    return {"start_s": started[0], "catch_up_s": catch_up, "per_s": reports / catch_up}


async def _embedded_start(data: str) -> float:
    program = (
        "import sys; from benchmarks.scaleout_fusion import timed_start; timed_start(sys.argv[1])"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", program, data, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), CATCH_UP_TIMEOUT_S)
    if process.returncode != 0:
        raise RuntimeError(f"the embedded start on {data} failed")
    return float(out.decode().split()[-1])


def timed_start(data: str) -> None:
    """Print how long building and starting the embedded default on ``data`` takes."""

    async def run() -> float:
        # Garbage collection as `tessera serve` sets it up before it starts.
        tune_collector()
        began = time.perf_counter()
        tessera = build(Settings(data_dir=Path(data)))
        await tessera.start()
        took = time.perf_counter() - began
        await tessera.stop()
        return took

    print(asyncio.run(run()))


async def measure(sizes: Sizes, logs: Path) -> dict[str, float]:
    figures: dict[str, float] = {}
    batches = burst(sizes)
    # The burst lives on in this process: out of every collection, so none pauses it.
    gc.freeze()
    async with cluster.scratch(logs) as fresh:
        print("scaleout-fusion: catch-up ...", file=sys.stderr)
        for key, value in (await catch_up(fresh, batches)).items():
            figures[f"catchup_{key}"] = value
        worker = fresh.processes[0]
        figures["worker_caught_up_mib"] = cluster.rss_kib(worker.pid) / 1024
        figures.update(await live(fresh, sizes.rates, sizes.window))
        figures["worker_live_mib"] = cluster.rss_kib(worker.pid) / 1024
        problems = cluster.log_problems(worker.log)
    print("scaleout-fusion: embedded baseline ...", file=sys.stderr)
    for key, value in (await embedded_catch_up(batches)).items():
        figures[f"embedded_{key}"] = value
    for key in ("memory", "postgis"):
        figures[f"catchup_{key}_ratio"] = (
            figures[f"catchup_{key}_per_s"] / figures["embedded_per_s"]
        )
    print("scaleout-fusion: gateway memory ...", file=sys.stderr)
    memory = await gateway_memory(sizes.tracks, sizes.lineage_units, sizes.lineage_reports, logs)
    figures.update(memory.figures)
    problems += memory.problems
    figures["worker_log_problems"] = float(len(problems))
    for line in problems:
        print(f"worker log: {line}", file=sys.stderr)
    return figures


def markdown(f: dict[str, float], sizes: Sizes) -> str:
    """The figures as BENCHMARKS.md's scale-out tables."""
    reports = f"{f['catchup_reports']:,.0f}"
    rows = [
        "| catch-up of the burst | reports | seconds | reports/s | ratio |",
        "|---|---:|---:|---:|---:|",
        f"| fusion worker, fused in memory (`fusion active` to `fusion caught up`) | {reports} "
        f"| {f['catchup_memory_s']:.1f} | {f['catchup_memory_per_s']:,.0f} "
        f"| {f['catchup_memory_ratio']:.2f}x |",
        f"| fusion worker, written to PostGIS (every picture's stored journal position) "
        f"| {reports} | {f['catchup_postgis_s']:.1f} | {f['catchup_postgis_per_s']:,.0f} "
        f"| {f['catchup_postgis_ratio']:.2f}x |",
    ]
    if "catchup_archive_s" in f:
        rows.append(
            f"| fusion worker, every report also archived in PostGIS (`report_archive`) "
            f"| {reports} | {f['catchup_archive_s']:.1f} | {f['catchup_archive_per_s']:,.0f} "
            f"| {f['catchup_archive_per_s'] / f['embedded_per_s']:.2f}x |"
        )
    rows += [
        f"| baseline: embedded default, the same burst from SQLite, in-memory store | {reports} "
        f"| {f['embedded_catch_up_s']:.1f} | {f['embedded_per_s']:,.0f} | 1.0x |",
        "",
        "| offered reports/s | appended reports/s | lag p50 | lag p99 | max "
        "| own change arrived | kept up | worker CPU | benchmark CPU |",
        "|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for rate in sizes.rates:
        g = {key.split("_", 2)[2]: v for key, v in f.items() if key.startswith(f"live_{rate:.0f}_")}
        rows.append(
            f"| {rate:,.0f} | {g['rate']:,.0f} | {g['p50_ms']:,.1f} ms | {g['p99_ms']:,.1f} ms "
            f"| {g['max_ms']:,.0f} ms | {g['arrived']:.1%} | {'yes' if g['kept_up'] else 'no'} "
            f"| {g['worker_cpu']:.0%} | {g['bench_cpu']:.0%} |"
        )
    tracks, long = f"{f['gateway_tracks']:,.0f}", f"{f['gateway_long_tracks']:,.0f}"
    lineage = f"{f['gateway_lineage']:.0f}"
    rows += [
        "",
        "| gateway | VmRSS | per track |",
        "|---|---:|---:|",
        f"| no track | {f['gateway_empty_mib']:,.0f} MiB | |",
        f"| {tracks} tracks followed from the change feed (their changes in its window) "
        f"| {f['gateway_followed_mib']:,.0f} MiB | {f['gateway_followed_per_track']:,.0f} B |",
        f"| {tracks} tracks loaded from PostGIS at start (the feed replayed into its window) "
        f"| {f['gateway_loaded_mib']:,.0f} MiB | {f['gateway_loaded_per_track']:,.0f} B |",
        f"| {tracks} tracks alone (loaded, nothing replayed, a window of one change) "
        f"| {f['gateway_alone_mib']:,.0f} MiB | {f['gateway_alone_per_track']:,.0f} B |",
        f"| the same and {long} tracks with {lineage} report ids each in their lineage "
        f"| {f['gateway_alone_long_mib']:,.0f} MiB | {f['gateway_long_per_track']:,.0f} B |",
        f"| the first gateway, having followed those too (its window of changes) "
        f"| {f['gateway_followed_long_mib']:,.0f} MiB | |",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    options.add_argument("--quick", action="store_true", help="a small run, well under a minute")
    options.add_argument("--logs", type=Path, help="keep the processes' logs here")
    args = options.parse_args(argv)
    logs = args.logs or Path(tempfile.mkdtemp(prefix="tessera-scaleout-fusion-"))
    print(f"scaleout-fusion: process logs in {logs}", file=sys.stderr)
    sizes = QUICK if args.quick else FULL
    figures = asyncio.run(measure(sizes, logs))
    for key, value in figures.items():
        print(f"{key}: {value:,.1f}")
    print(markdown(figures, sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
