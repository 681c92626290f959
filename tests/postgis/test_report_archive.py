"""The report archive: every journal report in PostGIS once, with how far it has got kept
in the same transaction, so the next archiver goes on where the last stopped; queries by
box and time answered by the database's indexes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from tessera.core.model import Label, Position, Report, Source, SourceKind
from tessera.journal.base import Journal
from tessera.journal.sqlite import SqliteJournal
from tessera.store.report_archive import IN_BOX, PostgisReportArchive

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def report(report_id: str, lat: float, lon: float, minute: int = 0) -> Report:
    return Report(
        id=report_id,
        source=Source("uav-7", SourceKind.UAV),
        observed_at=START + timedelta(minutes=minute),
        position=Position(lat, lon),
        label=Label("RESTRICTED", ("NATO",)),
    )


def sql(dsn: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


@asynccontextmanager
async def archiving(dsn: str, journal: Journal) -> AsyncIterator[PostgisReportArchive]:
    archive = PostgisReportArchive(dsn, journal, chunk=7)
    await archive.open()
    task = asyncio.create_task(archive.run())
    try:
        yield archive
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await archive.close()


def test_every_report_is_archived_once_and_the_next_archiver_goes_on(
    migrated: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        journal = SqliteJournal(tmp_path / "journal.sqlite3", clock=lambda: START)
        await journal.open()
        try:
            first = [report(f"a{i}", 53.0 + i / 100, 18.0) for i in range(20)]
            await journal.append(first[:12])
            await journal.append(first[8:])  # a retry overlapping the first batch
            async with archiving(migrated, journal) as archive:
                assert await archive.wait_for(journal.last_seq, 30)
            assert sql(migrated, "SELECT count(*), count(DISTINCT id) FROM reports") == [(20, 20)]
            stopped_at = journal.last_seq
            assert sql(migrated, "SELECT journal_seq FROM report_archive") == [(stopped_at,)]

            # While no archiver runs, more arrive; the next one starts where that stopped.
            await journal.append([report(f"b{i}", 54.0, 19.0 + i / 100) for i in range(9)])
            async with archiving(migrated, journal) as archive:
                assert archive.position == stopped_at
                assert await archive.wait_for(journal.last_seq, 30)
                stored = sql(migrated, "SELECT id, journal_seq, body->>'received_at' FROM reports")
                assert len(stored) == 29 and len({row[0] for row in stored}) == 29
                seqs = {row[0]: row[1] for row in stored}
                assert [seqs[f"a{i}"] for i in range(20)] == list(range(1, 21))
                assert all(row[2] for row in stored), "received times are kept"
        finally:
            await journal.close()

    asyncio.run(scenario())


def test_box_and_time_queries_answer_from_the_indexes(migrated: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        journal = SqliteJournal(tmp_path / "journal.sqlite3", clock=lambda: START)
        await journal.open()
        try:
            await journal.append(
                [
                    report(f"r{i}", (i % 160) - 80.0 + 0.5, (i * 7 % 359) - 179.5, i % 60)
                    for i in range(5_000)
                ]
            )
            async with archiving(migrated, journal) as archive:
                assert await archive.wait_for(journal.last_seq, 120)
                inside = await archive.reports_in((10.0, -80.0, 11.0, 80.0))
                assert inside and all(10.0 <= r.position.lon <= 11.0 for r in inside)
                window = await archive.reports_in(
                    (-180.0, -90.0, 180.0, 90.0),
                    since=START + timedelta(minutes=10),
                    until=START + timedelta(minutes=11),
                    limit=10_000,
                )
                assert {r.observed_at for r in window} == {START + timedelta(minutes=10)}
                assert len(window) == len([i for i in range(5_000) if i % 60 == 10])
                # Across the antimeridian: both sides, nothing in between.
                across = await archive.reports_in((179.0, -90.0, -179.0, 90.0), limit=10_000)
                assert across and all(abs(r.position.lon) >= 179.0 for r in across)
                assert await archive.reports_in((10.0, 5.0, 11.0, 1.0)) == []
        finally:
            await journal.close()

    asyncio.run(scenario())
    sql(migrated, "ANALYZE reports")
    plan = str(
        sql(
            migrated,
            "EXPLAIN (FORMAT JSON) " + IN_BOX,
            (10.0, 40.0, 10.5, 40.5, None, None, None, None, 100),
        )[0][0]
    )
    assert "reports_position_lonlat" in plan
