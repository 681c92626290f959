"""History: seeking in a long journal of the exercise, and replaying it.

A journal of ``--hours`` of the exercise at its default rate (200 reports/s; 24 hours by
default, 17 million reports) is appended straight into a SQLite journal, its reports
grouped into commits as a live server's journal groups them (one every ``COMMIT_S``: 76
commits a second for 175 reports a second in `tessera demo`'s journal), each commit's
reports stamped with its time (written straight in, as the journal's commits write them,
without a sync each). The simulator runs for a quarter
of an hour and that cycle repeats later in time under new report ids (the objects jump
back to where they started at each repeat). Then:

- rebuild: one fusion worker replays the whole journal, taking the history snapshots
  (every ``history_snapshot_interval_s`` of journal time, 300 s, or
  ``history_snapshot_entries`` journal entries, 4,000, whichever comes first) as the live
  server does;
  its speed is journal time over wall time;
- seek: ``--seeks`` random times, each answered as ``GET /api/v1/tracks?at=`` answers it
  (the latest snapshot at or before it plus the journal replayed up to it);
- replay: from random times, the picture played forward for ``--replay-minutes`` of
  journal time as the stream's replay plays it asked for ``SPEED`` (600x, the slider's
  fastest): each message the picture at the time reached by then, jumping over
  snapshots; its speed is journal time over wall time, with the wall time between
  messages. And once, the same span replayed step by step (as a window export does,
  every change), as fast as it goes.

``python benchmarks/history.py [--hours H] [--quick] [--keep FOLDER] [--write]``;
``--quick`` is a few minutes of journal for development; ``--keep`` builds in FOLDER and
measures what is there on the next run (a day's journal takes over an hour to build);
``--write`` puts the figures in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import math
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import write_section  # noqa: E402
from tessera.bus.memory import MemoryBus  # noqa: E402
from tessera.core.fusion.engine import FusionSettings, KalmanTracker  # noqa: E402
from tessera.core.model import Report  # noqa: E402
from tessera.fusion_worker import FusionWorker  # noqa: E402
from tessera.history.seek import History  # noqa: E402
from tessera.history.service import history_fingerprint  # noqa: E402
from tessera.history.snapshotter import Snapshotter  # noqa: E402
from tessera.history.sqlite import HISTORY_FILE, SqliteSnapshots  # noqa: E402
from tessera.journal.sqlite import SqliteJournal  # noqa: E402
from tessera.journal.sqlite_rows import key_of, stamped  # noqa: E402
from tessera.microseconds import to_us  # noqa: E402
from tessera.settings import load_settings  # noqa: E402
from tessera.sim.scenario import DEFAULT_START, ScenarioConfig, build  # noqa: E402
from tessera.store.base import TrackQuery  # noqa: E402
from tessera.store.memory import MemoryTrackStore  # noqa: E402

SECTION: Final = "## History: seek and replay"
# The fastest the map's slider asks for.
SPEED: Final = 600.0
RATE: Final = 200.0
QUICK_HOURS: Final = 0.03
# The exercise simulated once for this long, then repeated later in time.
CYCLE_HOURS: Final = 0.25
# How often a live server's journal commits at this rate (group commit): a commit's
# reports share its time, and fusion takes each commit as one micro-batch.
COMMIT_S: Final = 1 / 76
# In a ``--keep`` folder: the build's figures, written once it has finished.
BUILT: Final = "built.json"
JOURNAL_FILE: Final = "journal.sqlite3"


@dataclass(frozen=True)
class Sizes:
    hours: float
    seeks: int
    replays: int
    replay_minutes: float


Row = tuple[int, str, str | None, int, bytes | None]


def exercise_seconds(hours: float, seed: int) -> list[tuple[float, list[Report]]]:
    """The exercise's reports for ``hours``, grouped into the commits a live journal makes
    of them (each at the end of its ``COMMIT_S``, as seconds after the start)."""
    exercise = build("exercise", ScenarioConfig(seed=seed, rate=RATE))
    seconds: list[tuple[float, list[Report]]] = []
    committed: float | None = None
    for sighting in exercise.sightings(hours * 3_600):
        sent = (sighting.send_at - DEFAULT_START).total_seconds()
        at = (math.floor(sent / COMMIT_S) + 1) * COMMIT_S
        if at != committed:
            committed = at
            seconds.append((at, []))
        seconds[-1][1].append(sighting.report)
    return seconds


def seconds_of_reports(hours: float, seed: int) -> Iterator[tuple[datetime, list[Report]]]:
    """``hours`` of the exercise, grouped by the commit they are sent in: one cycle of at
    most ``CYCLE_HOURS`` simulated once, then repeated later in time under new report ids
    (the simulator makes a few thousand reports a second; a day of them would take hours).
    A cycle's late reports (open sources, satellite batches) are sent after it ends, in the
    next: the turns are merged in time order, so received times never go backwards, as in
    a live journal."""
    cycle_hours = min(hours, CYCLE_HOURS)
    cycle = exercise_seconds(cycle_hours, seed)
    length = cycle_hours * 3_600
    turns = [_turn(cycle, turn, length) for turn in range(math.ceil(hours / cycle_hours))]
    merged = heapq.merge(*turns, key=lambda commit: commit[0])
    for at, group in itertools.groupby(merged, key=lambda commit: commit[0]):
        if at >= hours * 3_600:
            return
        yield DEFAULT_START + timedelta(seconds=at), [r for _, rs in group for r in rs]


def _turn(
    cycle: list[tuple[float, list[Report]]], turn: int, length: float
) -> Iterator[tuple[float, list[Report]]]:
    """The cycle's commits repeated ``turn`` cycles later (times as seconds after the
    start), its reports under new ids."""
    shift_s = turn * length
    if turn == 0:
        yield from cycle
        return
    shift = timedelta(seconds=shift_s)
    for offset, reports in cycle:
        yield (
            # On the commit grid, so turns' commits at one time are one commit.
            (round((offset + shift_s) / COMMIT_S)) * COMMIT_S,
            [
                msgspec.structs.replace(
                    report,
                    id=f"{report.id}-{turn}",
                    observed_at=report.observed_at + shift,
                    valid_until=None if report.valid_until is None else report.valid_until + shift,
                )
                for report in reports
            ],
        )


async def write_journal(path: Path, hours: float) -> tuple[int, float]:
    """The journal; how many reports it holds and how long writing it took. The journal
    makes its file; rows then go straight in, as its commits write them (each second one
    received time), many seconds a transaction and without a sync each (a benchmark's
    file need not survive a crash)."""
    journal = SqliteJournal(path, clock=lambda: DEFAULT_START, tick_interval=86_400)
    await journal.open()
    await journal.close()
    began = time.perf_counter()
    count = 0
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        rows: list[Row] = []
        for sent, reports in seconds_of_reports(hours, seed=5):
            received_us = to_us(sent)
            for report in reports:
                count += 1
                rows.append(stamped(count, key_of(report), report, sent, received_us)[0])
            if len(rows) >= 50_000:
                _insert(conn, rows)
                rows = []
        _insert(conn, rows)
    finally:
        conn.close()
    return count, time.perf_counter() - began


def _insert(
    conn: sqlite3.Connection, rows: list[tuple[int, str, str | None, int, bytes | None]]
) -> None:
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO journal (seq, kind, id, received_us, body) VALUES (?, ?, ?, ?, ?)", rows
    )
    conn.execute("COMMIT")


def built_in(folder: Path) -> dict[str, float]:
    """The build figures of the journal and snapshots kept in ``folder``; none (and the
    folder emptied) if no build there finished."""
    done = folder / BUILT
    if done.exists():
        figures: dict[str, float] = msgspec.json.decode(done.read_bytes())
        return figures
    # Only the benchmark's own files: FOLDER may hold anything else.
    for name in (JOURNAL_FILE, HISTORY_FILE):
        for stale in folder.glob(f"{name}*"):
            stale.unlink()
    return {}


def keep_built(folder: Path, figures: dict[str, float]) -> None:
    (folder / BUILT).write_bytes(msgspec.json.encode(figures))


async def measure(sizes: Sizes, folder: Path) -> dict[str, float]:
    path = folder / JOURNAL_FILE
    built = await asyncio.to_thread(built_in, folder)
    if not built:
        reports, written_s = await write_journal(path, sizes.hours)
    else:
        reports, written_s = int(built["reports"]), built["write_s"]
    print(f"journal: {reports:,} reports in {written_s:.1f} s", file=sys.stderr)
    settings = load_settings(data_dir=folder)
    scheme = settings.scheme
    fusion_settings = FusionSettings(
        lineage_window=settings.lineage_window, batch_seconds=settings.fusion_batch_s
    )
    pictures = list(settings.pictures)
    names = [picture.name for picture in pictures]
    fingerprints = {
        p.name: history_fingerprint(p, fusion_settings, scheme.levels) for p in pictures
    }
    journal = SqliteJournal(path, clock=lambda: datetime.now(UTC), tick_interval=86_400)
    snapshots = SqliteSnapshots(folder / HISTORY_FILE)
    await journal.open()
    await snapshots.open()
    try:
        store = MemoryTrackStore(names)
        worker = FusionWorker(
            journal=journal,
            store=store,
            bus=MemoryBus(names, retained=1_000),
            pictures=pictures,
            scheme=scheme,
            tracker_factory=lambda _picture: KalmanTracker(scheme, fusion_settings),
        )
        snapshotter = Snapshotter(
            worker=worker,
            store=store,
            snapshots=snapshots,
            journal=journal,
            fingerprints=fingerprints,
            interval_s=settings.history_snapshot_interval_s,
            max_entries=settings.history_snapshot_entries,
        )
        if built:
            rebuild_s = built["rebuild_s"]
        else:
            snapshotter.attach()
            writing = asyncio.create_task(snapshotter.run())
            began = time.perf_counter()
            await worker.catch_up()
            await snapshotter.write_queued()
            rebuild_s = time.perf_counter() - began
            writing.cancel()
            figures = {"reports": reports, "write_s": written_s, "rebuild_s": rebuild_s}
            keep_built(folder, figures)
        print(f"rebuilt with snapshots in {rebuild_s:.1f} s", file=sys.stderr)
        first = (await journal.read(0, 1))[0].received_at
        last = (await journal.read(journal.last_seq - 1, 1))[0].received_at
        span_s = (last - first).total_seconds()
        history = History(
            journal=journal,
            snapshots=snapshots,
            scheme=scheme,
            settings=fusion_settings,
            fingerprints=fingerprints,
        )
        rng = random.Random(1)
        picture = pictures[0]
        seeks: list[float] = []
        tracks: list[int] = []
        for _ in range(sizes.seeks):
            moment = first + timedelta(seconds=rng.uniform(0, span_s))
            began = time.perf_counter()
            past = await history.seek(picture, moment)
            tracks.append(len(past.tracks(TrackQuery())))
            seeks.append(time.perf_counter() - began)
        speeds: list[float] = []
        gaps: list[float] = []
        steps: list[float] = []
        played = sizes.replay_minutes * 60
        for _ in range(sizes.replays):
            moment = first + timedelta(seconds=rng.uniform(0, max(span_s - played, 0)))
            end = moment + timedelta(seconds=played)
            past = await history.seek(picture, moment)
            began = sent = time.perf_counter()
            reached = moment
            while reached < end:
                ahead = timedelta(seconds=(time.perf_counter() - began) * SPEED)
                reached = min(moment + ahead, end)
                await history.advance(past, reached)
                past.take_changes()
                gaps.append(time.perf_counter() - sent)
                sent = time.perf_counter()
            speeds.append(played / (time.perf_counter() - began))
            if steps:
                continue  # one is enough: every change costs the same wherever
            past = await history.seek(picture, moment)
            began = time.perf_counter()
            await past.advance_to(end)
            past.take_changes()
            steps.append(played / (time.perf_counter() - began))
        kept = await snapshots.count(picture.name)
    finally:
        await snapshots.close()
        await journal.close()
    with sqlite3.connect(folder / HISTORY_FILE) as conn:
        row = conn.execute(
            "SELECT avg(length(body) + length(overlays)) FROM history_snapshots"
        ).fetchone()
    conn.close()
    return {
        "hours": span_s / 3_600,
        "reports": reports,
        "write_s": written_s,
        "rebuild_s": rebuild_s,
        "rebuild_speed": span_s / rebuild_s,
        "interval_s": settings.history_snapshot_interval_s,
        "entries": settings.history_snapshot_entries,
        "snapshots": kept,
        "snapshot_kib": float(row[0] or 0) / 1024,
        "seeks": len(seeks),
        "seek_p50_s": statistics.median(seeks),
        "seek_max_s": max(seeks),
        "tracks_p50": statistics.median(tracks),
        "replays": len(speeds),
        "replay_minutes": sizes.replay_minutes,
        "replay_speed_p50": statistics.median(speeds),
        "replay_speed_min": min(speeds),
        "replay_gap_p50_s": statistics.median(gaps),
        "replay_gap_max_s": max(gaps),
        "step_speed_p50": statistics.median(steps),
    }


def markdown(figures: dict[str, float], command: str, when: str, load: str) -> str:
    seeks, replays = f"{figures['seeks']:.0f}", f"{figures['replays']:.0f}"
    minutes = f"{figures['replay_minutes']:.1f}"
    interval = f"{figures['interval_s']:.0f}"
    entries = f"{figures['entries']:,.0f}"
    rows = "\n".join(
        (
            f"| seek to a random time, median of {seeks} | {figures['seek_p50_s']:.3f} s | < 2 s |",
            f"| seek, slowest | {figures['seek_max_s']:.3f} s | < 2 s |",
            f"| replay forward {minutes} min, median of {replays} "
            f"| {figures['replay_speed_p50']:,.0f}x | >= 100x |",
            f"| replay forward, slowest | {figures['replay_speed_min']:,.0f}x | >= 100x |",
            f"| replay forward, wall time between messages, median "
            f"| {figures['replay_gap_p50_s']:.2f} s | |",
            f"| replay forward, wall time between messages, longest "
            f"| {figures['replay_gap_max_s']:.2f} s | |",
            f"| replay forward step by step (every change) | {figures['step_speed_p50']:,.0f}x | |",
            f"| whole-journal rebuild with snapshots | {figures['rebuild_speed']:,.0f}x | |",
        )
    )
    return f"""{SECTION}

`{command}`, {when}, load average {load} (2 cores, shared).

A journal of {figures["hours"]:.2f} hours of the exercise at its default rate
({figures["reports"]:,.0f} reports, 200 reports/s, written in {figures["write_s"]:.0f} s
straight into the SQLite journal, 76 commits per simulated second as a live server makes
them; the simulator's quarter hour repeated, each quarter's late reports received
during the next, so received times never go backwards).
One fusion worker rebuilt it in {figures["rebuild_s"]:.0f} s, taking
{figures["snapshots"]:.0f} history snapshots of the picture (one per {interval} s of journal time
or {entries} entries, whichever comes first; {figures["snapshot_kib"]:.0f} KiB each, compressed).
A seek is `GET /api/v1/tracks?at=`'s work (a snapshot read and decoded, then the journal
replayed up to the time); a replay is the stream's asked for 600x (journal time played
over wall time; each message the picture at the time reached, jumping over snapshots
rather than fusing every entry up to them, with the changes since the last message).

| what | figure | goal |
|---|---:|---:|
{rows}

A seek costs one snapshot plus at most {entries} entries of journal, whatever its length;
the picture held about {figures["tracks_p50"]:.0f} tracks.
"""


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--hours", type=float, default=24.0, help="journal length (24)")
    options.add_argument("--quick", action="store_true", help="a few minutes of journal")
    options.add_argument("--seeks", type=int, default=20)
    options.add_argument("--write", action="store_true", help="write BENCHMARKS.md's section")
    options.add_argument(
        "--keep",
        type=Path,
        metavar="FOLDER",
        help="build the journal and snapshots in FOLDER and keep them; a later run with the "
        "same FOLDER measures them again without rebuilding (delete it after a change to "
        "fusion or the snapshots)",
    )
    args = options.parse_args(argv)
    hours = QUICK_HOURS if args.quick else args.hours
    sizes = Sizes(hours, args.seeks, replays=5, replay_minutes=min(10.0, hours * 30))
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        figures = asyncio.run(measure(sizes, args.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="tessera-history-") as folder:
            figures = asyncio.run(measure(sizes, Path(folder)))
    command = (
        "python benchmarks/history.py "
        + ("--quick" if args.quick else f"--hours {args.hours:g}")
        + (f" --seeks {args.seeks}" if args.seeks != 20 else "")
    )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    text = markdown(figures, command, when, load)
    print(text)
    if args.write:
        write_section(ROOT / "BENCHMARKS.md", SECTION, text, before="## Fusion")
        print("wrote BENCHMARKS.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
