"""Retention: trimming the embedded journal (how fast old entries go, how much room the
kept keys take, the file's pages in use before and after), and what asking the report
archive before claiming costs a JetStream append (a claims window set) against none.

    python benchmarks/retention.py --reports 200000
    python benchmarks/retention.py --jetstream --batches 200
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tessera.core.model import Label, Position, Report, Source, SourceKind
from tessera.journal.base import Retention
from tessera.journal.jetstream import JetStreamJournal
from tessera.journal.sqlite import SqliteJournal
from tessera.store.retention import ArchivedReportKeys

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
BATCH = 5_000


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def report(index: int) -> Report:
    return Report(
        id=f"bench-{index:09d}",
        source=Source(f"uav-{index % 50}", SourceKind.UAV),
        observed_at=START,
        position=Position(50.0 + index % 1000 / 1000, 18.0),
        label=Label("UNCLASSIFIED"),
        subject=f"unit-{index % 500}",
    )


def used_bytes(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
        free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
        size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    conn.close()
    return (pages - free) * size


async def measure(reports: int, folder: Path) -> dict[str, float]:
    clock = Clock()
    path = folder / "journal.sqlite3"
    retention = Retention(max_age_s=3_600, dedup_window_s=86_400)
    journal = SqliteJournal(path, clock=clock, tick_interval=3_600, retention=retention)
    await journal.open()
    try:
        for start in range(0, reports, BATCH):
            await journal.append([report(i) for i in range(start, min(start + BATCH, reports))])
        clock.now += timedelta(hours=2)
        await journal.append([report(reports)])
        before = used_bytes(path)
        began = time.perf_counter()
        await journal.trim(journal.last_seq)
        took = time.perf_counter() - began
        after = used_bytes(path)
    finally:
        await journal.close()
    return {
        "reports": reports,
        "trim_s": took,
        "dropped_per_s": reports / took,
        "bytes_before": before,
        "bytes_after": after,
        "kept_key_bytes": after / reports,
        "entry_bytes": before / reports,
    }


async def appends_per_s(batches: int, *, ask_archive: bool) -> float:
    """Reports/s appended one batch of 500 at a time to a fresh JetStream journal."""
    from benchmarks.cluster import NATS, scratch

    async with scratch() as fresh:
        keys = ArchivedReportKeys(fresh.dsn) if ask_archive else None
        retention = Retention(dedup_window_s=86_400 if ask_archive else None)
        journal = JetStreamJournal(
            NATS,
            clock=lambda: datetime.now(UTC),
            stream=f"J_{fresh.name.upper()}",
            prefix=f"bench.{fresh.name}",
            retention=retention,
            stored_keys=keys,
        )
        await journal.open()
        try:
            began = time.perf_counter()
            for batch in range(batches):
                await journal.append([report(batch * 500 + i) for i in range(500)])
            took = time.perf_counter() - began
        finally:
            await journal.close()
            if keys is not None:
                await keys.close()
    return batches * 500 / took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=200_000)
    parser.add_argument("--jetstream", action="store_true")
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    if args.jetstream:
        plain = asyncio.run(appends_per_s(args.batches, ask_archive=False))
        asking = asyncio.run(appends_per_s(args.batches, ask_archive=True))
        print(
            f"JetStream appends, batches of 500 one at a time: {plain:,.0f} reports/s with "
            f"claims kept for ever, {asking:,.0f} reports/s asking the archive first"
        )
        return
    with tempfile.TemporaryDirectory() as folder:
        found = asyncio.run(measure(args.reports, Path(folder)))
    print(
        f"{found['reports']:,.0f} reports trimmed in {found['trim_s']:.2f} s "
        f"({found['dropped_per_s']:,.0f} entries/s); file in use "
        f"{found['bytes_before'] / 1e6:,.1f} MB -> {found['bytes_after'] / 1e6:,.1f} MB "
        f"({found['entry_bytes']:.0f} bytes an entry, {found['kept_key_bytes']:.0f} bytes "
        "a kept key)"
    )


if __name__ == "__main__":
    main()
