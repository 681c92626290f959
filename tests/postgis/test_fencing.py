"""Fencing in PostGIS (DESIGN §10): a fusion worker raises its fence rows to its lease
epoch when it takes over, and every write of an older epoch is refused (FencedError,
rolled back) on each write path: the pictures' rows, checkpoints and the report archive.
A predecessor's transaction left open cannot hold the raise up: the server ends it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from tessera.cluster.fence import ARCHIVE_FENCE, Fence, FencedError
from tessera.journal.sqlite import SqliteJournal
from tessera.postgis.fencing import CHECK, WORKER_APPLICATION, raise_fence, worker_dsn
from tessera.store.checkpoints import Checkpoint, PictureCheckpoint, PostgisCheckpoints
from tessera.store.postgis import PostgisStoreError, PostgisTrackStore
from tessera.store.report_archive import PostgisReportArchive
from tests.postgis.test_report_archive import START, report, sql
from tests.store.builders import track

COP = "COP"
LEASE_TTL_S = 1.0


def test_a_fence_is_raised_only_to_a_newer_epoch(migrated: str) -> None:
    async def scenario() -> None:
        await raise_fence(migrated, Fence({COP: 5, ARCHIVE_FENCE: 6}), LEASE_TTL_S)
        await raise_fence(migrated, Fence({COP: 9}), LEASE_TTL_S)
        with pytest.raises(FencedError, match=COP):
            await raise_fence(migrated, Fence({COP: 7, ARCHIVE_FENCE: 8}), LEASE_TTL_S)
        # Refused whole: the archive's row was not raised either.
        rows = sql(migrated, "SELECT name, epoch FROM fusion_fences")
        assert sorted(rows) == [(COP, 9), (ARCHIVE_FENCE, 6)]

    asyncio.run(scenario())


def test_the_track_store_of_an_older_epoch_writes_nothing_more(migrated: str) -> None:
    async def scenario() -> None:
        fence = Fence({COP: 5})
        await raise_fence(migrated, fence, LEASE_TTL_S)
        store = PostgisTrackStore(migrated, [COP], writer=True)
        await store.open()
        store.fence = fence
        try:
            store.apply(COP, 1, [track("a")], [])
            store.mark_journal(1)
            await store.flush(30)
            assert sql(migrated, "SELECT seq, journal_seq, epoch FROM pictures") == [(1, 1, 5)]
            # A successor takes the picture over.
            await raise_fence(migrated, Fence({COP: 9}), LEASE_TTL_S)
            store.apply(COP, 2, [track("b")], [])
            store.mark_journal(2)
            with pytest.raises(PostgisStoreError, match="stopped"):
                await store.flush(30)
            assert fence.deposed.is_set() and "epoch 9" in fence.reason
        finally:
            await store.close(timeout=5)
        assert sql(migrated, "SELECT seq, journal_seq, epoch FROM pictures") == [(1, 1, 5)]
        assert sql(migrated, "SELECT id FROM tracks") == [("a",)]

    asyncio.run(scenario())


def checkpoint(journal_seq: int) -> Checkpoint:
    return Checkpoint({COP: PictureCheckpoint(journal_seq, journal_seq, "f", b"state")})


def test_a_checkpoint_of_an_older_epoch_is_refused(migrated: str) -> None:
    async def scenario() -> None:
        checkpoints = PostgisCheckpoints(migrated)
        checkpoints.fence = Fence({COP: 5})
        await raise_fence(migrated, checkpoints.fence, LEASE_TTL_S)
        await checkpoints.save(checkpoint(10))
        await raise_fence(migrated, Fence({COP: 9}), LEASE_TTL_S)
        with pytest.raises(FencedError):
            await checkpoints.save(checkpoint(20))
        stored = "SELECT journal_seq, epoch FROM fusion_checkpoints"
        assert sql(migrated, stored) == [(10, 5)]

    asyncio.run(scenario())


def test_the_archive_of_an_older_epoch_stops_without_writing(migrated: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        journal = SqliteJournal(tmp_path / "journal.sqlite3", clock=lambda: START)
        await journal.open()
        archive = PostgisReportArchive(migrated, journal, chunk=5)
        await archive.open()
        try:
            fence = Fence({ARCHIVE_FENCE: 5})
            await raise_fence(migrated, fence, LEASE_TTL_S)
            archive.fence = fence
            await journal.append([report(f"a{i}", 53.0, 18.0 + i / 100) for i in range(5)])
            running = asyncio.create_task(archive.run())
            assert await archive.wait_for(journal.last_seq, 30)
            await raise_fence(migrated, Fence({ARCHIVE_FENCE: 9}), LEASE_TTL_S)
            await journal.append([report(f"b{i}", 54.0, 18.0 + i / 100) for i in range(5)])
            with pytest.raises(FencedError):
                await asyncio.wait_for(running, 30)
            assert fence.deposed.is_set()
        finally:
            await archive.close()
            await journal.close()
        assert sql(migrated, "SELECT journal_seq, epoch FROM report_archive") == [(5, 5)]
        assert sql(migrated, "SELECT count(*) FROM reports") == [(5,)]

    asyncio.run(scenario())


def test_a_predecessors_open_transaction_is_ended_and_the_raise_gets_through(
    migrated: str,
) -> None:
    async def scenario() -> None:
        await raise_fence(migrated, Fence({COP: 5}), LEASE_TTL_S)
        dsn = worker_dsn(migrated, LEASE_TTL_S)
        # A worker stopped in the middle of a write: its transaction holds the fence row.
        stopped = await psycopg.AsyncConnection.connect(dsn)
        await stopped.execute(CHECK, ([COP],))
        await stopped.execute("UPDATE pictures SET epoch = 5")
        # Its successor's raise waits for the row, and gets it: the server has ended
        # the stopped worker's idle transaction.
        await raise_fence(migrated, Fence({COP: 9}), LEASE_TTL_S)
        assert sql(migrated, "SELECT epoch FROM fusion_fences") == [(9,)]
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
            await stopped.execute("SELECT 1")
        assert stopped.broken
        await stopped.close()

    asyncio.run(scenario())


def test_a_predecessor_the_server_cannot_end_is_terminated_by_the_raise(migrated: str) -> None:
    async def scenario() -> None:
        await raise_fence(migrated, Fence({COP: 5}), LEASE_TTL_S)
        # A worker's session without timeouts stands for one blocked on its stopped
        # client (sending results, or reading a COPY), which no timeout ends.
        blocked = await psycopg.AsyncConnection.connect(
            migrated, application_name=WORKER_APPLICATION
        )
        await blocked.execute(CHECK, ([COP],))
        await raise_fence(migrated, Fence({COP: 9}), LEASE_TTL_S)
        assert sql(migrated, "SELECT epoch FROM fusion_fences") == [(9,)]
        with pytest.raises(psycopg.OperationalError):
            await blocked.execute("SELECT 1")
        await blocked.close()

    asyncio.run(scenario())


def test_a_worker_session_ends_its_statements_and_idle_transactions() -> None:
    dsn = worker_dsn("postgresql://u@h/db?options=-c%20search_path%3Dx", 6.0)
    assert "statement_timeout=3000ms" in dsn
    assert "idle_in_transaction_session_timeout=3000ms" in dsn
    assert "search_path=x" in dsn
    assert WORKER_APPLICATION in dsn
