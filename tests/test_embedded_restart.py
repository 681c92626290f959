"""Restarting the embedded default: the last checkpoint is restored and served at once,
the journal after it is replayed in the background (health says how far), and the picture
then equals a full rebuild from the journal."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tessera.app import Tessera, build
from tessera.core.model import Grading, Identity, Label, Position, Report, Source, SourceKind
from tessera.journal.base import JournalEntry
from tessera.journal.sqlite import SqliteJournal
from tessera.settings import load_settings
from tessera.store.sqlite_checkpoints import SqliteCheckpoints, checkpoint_path
from tests.support import ADMIN, bearer, grant, live_server
from tests.test_replay import by_id, mixed_reports, replay

# No ticks and no periodic checkpoint: the journal holds only what the test writes, and
# the one checkpoint is the clean stop's.
QUIET: dict[str, Any] = {"tick_interval_s": 3600, "checkpoint_interval_s": 3600}
AREA = {
    "name": "Objective area",
    "kind": "area",
    "coordinates": [[18.0, 53.0], [18.1, 53.0], [18.1, 53.1]],
}


def tail(count: int) -> list[Report]:
    """Self-reports of units the first run never saw."""
    when = datetime.now(UTC) - timedelta(seconds=2)
    return [
        Report(
            id=f"tail-{index}",
            source=Source(f"late-{index}", SourceKind.UNIT),
            subject=f"late-{index}",
            observed_at=when,
            position=Position(54.0 + index * 0.01, 19.0, None, 10.0),
            identity=Identity.FRIEND,
            grading=Grading("A", 1),
            label=Label("UNCLASSIFIED"),
        )
        for index in range(count)
    ]


async def append_tail(data: Path, count: int) -> int:
    journal = SqliteJournal(data / "journal.sqlite3", clock=lambda: datetime.now(UTC))
    await journal.open()
    try:
        await journal.append(tail(count))
        return journal.last_seq
    finally:
        await journal.close()


async def first_run(data: Path) -> dict[str, Any]:
    """Reports and an overlay, then a clean stop; the picture as it was served."""
    async with live_server(data, **QUIET) as live, live.client() as client:
        docs = mixed_reports(seed=7, count=300)
        for start in range(0, len(docs), 50):
            answer = await client.post("/api/v1/reports", json=docs[start : start + 50])
            assert answer.status_code == 202
        assert (await client.post("/api/v1/overlays", json=AREA)).status_code == 201
        assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)
        tracks = (await client.get("/api/v1/tracks")).json()
        overlays = (await client.get("/api/v1/overlays")).json()
        return {"tracks": tracks, "overlays": overlays, "position": live.tessera.worker.position}


Read = Callable[[int, int], Awaitable[list[JournalEntry]]]


@asynccontextmanager
async def held_replay(
    data: Path,
) -> AsyncIterator[tuple[Tessera, httpx.AsyncClient, asyncio.Event]]:
    """A restarted Tessera whose journal reads wait for the event: nothing after the
    checkpoint is replayed until the test sets it."""
    tessera = build(load_settings(data_dir=data, **QUIET))
    release = asyncio.Event()
    read: Read = tessera.journal.read

    async def held(after_seq: int, limit: int) -> list[JournalEntry]:
        await release.wait()
        return await read(after_seq, limit)

    # The instance's own attribute: only this journal's reads wait.
    tessera.journal.read = held  # type: ignore[method-assign]
    await asyncio.wait_for(tessera.start(catch_up=False), 30)
    try:
        token = await grant(tessera, ADMIN)
        transport = httpx.ASGITransport(app=tessera.asgi)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://tessera", headers=bearer(token)
        ) as client:
            yield tessera, client, release
    finally:
        release.set()
        await tessera.stop()


def test_a_restart_serves_the_checkpoint_at_once_then_catches_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        before = await first_run(tmp_path)
        assert before["tracks"]["count"] > 10 and len(before["overlays"]["features"]) == 1
        last = await append_tail(tmp_path, 40)
        async with held_replay(tmp_path) as (tessera, client, release):
            health = (await client.get("/api/v1/health")).json()
            assert health == {"status": "ok", "fusion": "catching_up", "progress": 0.0}
            # The checkpoint's picture, at its seq: tracks, overlays, the change feed's count.
            assert (await client.get("/api/v1/tracks")).json() == before["tracks"]
            assert (await client.get("/api/v1/overlays")).json() == before["overlays"]
            assert tessera.bus.last_seq("COP") == before["tracks"]["seq"]
            status = (await client.get("/api/v1/status")).json()
            assert status["fusion"] == "catching_up"
            assert status["restored_from"] == before["position"]
            assert status["fused_seq"] == before["position"]
            assert status["replay_target"] == last
            # Reports are taken meanwhile (journaled as always).
            posted = await client.post("/api/v1/reports", json=mixed_reports(seed=8, count=5))
            assert posted.status_code == 202
            release.set()
            await asyncio.wait_for(tessera.caught_up(), 30)
            assert (await client.get("/api/v1/health")).json() == {
                "status": "ok",
                "fusion": "caught_up",
            }
            assert await tessera.worker.wait_caught_up(tessera.journal.last_seq, 30)
            after = (await client.get("/api/v1/tracks")).json()
            position = tessera.worker.position
        # Seqs go on from the checkpoint's, never back.
        assert after["seq"] > before["tracks"]["seq"]
        assert after["count"] >= before["tracks"]["count"] + 40
        rebuilt = await replay(tmp_path, position, 100_000)
        assert by_id(after["features"]) == by_id(rebuilt)

    asyncio.run(scenario())


def test_without_a_checkpoint_a_restart_still_listens_at_once_and_rebuilds_everything(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        before = await first_run(tmp_path)
        checkpoint_path(tmp_path).unlink()
        async with held_replay(tmp_path) as (tessera, client, release):
            health = (await client.get("/api/v1/health")).json()
            assert health["fusion"] == "catching_up"
            empty = (await client.get("/api/v1/tracks")).json()
            # Numbered clear of the last run's seqs: nobody resumes into the rebuild.
            assert empty["count"] == 0 and empty["seq"] > before["tracks"]["seq"]
            assert (await client.get("/api/v1/status")).json()["restored_from"] is None
            release.set()
            await asyncio.wait_for(tessera.caught_up(), 30)
            after = (await client.get("/api/v1/tracks")).json()
            position = tessera.worker.position
        assert position == tessera.journal.last_seq
        rebuilt = await replay(tmp_path, position, 100_000)
        assert after["count"] > 10
        assert by_id(after["features"]) == by_id(rebuilt)

    asyncio.run(scenario())


def test_after_a_crash_seqs_go_on_clear_of_every_seq_the_last_run_sent(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_server(tmp_path, **QUIET) as live, live.client() as client:
            answer = await client.post("/api/v1/reports", json=mixed_reports(seed=5, count=60))
            assert answer.status_code == 202
            assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)
            checkpointer = live.tessera.checkpointer
            assert checkpointer is not None
            await checkpointer.save()  # a periodic checkpoint
            saved = (await client.get("/api/v1/tracks")).json()["seq"]
            # Changes sent after it, then the process dies: no checkpoint at the stop.
            answer = await client.post("/api/v1/reports", json=mixed_reports(seed=6, count=60))
            assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)
            sent = (await client.get("/api/v1/tracks")).json()["seq"]
            assert sent > saved
            live.tessera.checkpointer = None
        async with held_replay(tmp_path) as (tessera, client, release):
            restored = (await client.get("/api/v1/tracks")).json()
            assert restored["seq"] > sent
            assert tessera.bus.last_seq("COP") == restored["seq"]
            release.set()
            await asyncio.wait_for(tessera.caught_up(), 30)
            assert (await client.get("/api/v1/tracks")).json()["seq"] > restored["seq"]

    asyncio.run(scenario())


def test_an_unreadable_checkpoint_means_a_full_replay(tmp_path: Path) -> None:
    async def scenario() -> None:
        before = await first_run(tmp_path)
        checkpoint_path(tmp_path).write_bytes(b"\0garbage" * 512)
        async with live_server(tmp_path, **QUIET) as live, live.client() as client:
            checkpointer = live.tessera.checkpointer
            assert checkpointer is not None and checkpointer.restored_from is None
            again = (await client.get("/api/v1/tracks")).json()
        assert by_id(again["features"]) == by_id(before["tracks"]["features"])

    asyncio.run(scenario())


def test_a_checkpoint_past_the_journal_is_not_used(tmp_path: Path) -> None:
    async def scenario() -> None:
        await first_run(tmp_path)
        # A journal replaced by an empty one: the checkpoint covers entries it lacks.
        for suffix in ("", "-wal", "-shm"):
            (tmp_path / f"journal.sqlite3{suffix}").unlink(missing_ok=True)
        async with live_server(tmp_path, **QUIET) as live, live.client() as client:
            assert (await client.get("/api/v1/tracks")).json()["count"] == 0
            assert live.tessera.worker.position == 0

    asyncio.run(scenario())


def test_checkpoint_interval_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="checkpoint_interval_s"):
        load_settings(data_dir=tmp_path, checkpoint_interval_s=0)


def test_checkpoints_are_saved_periodically_and_the_journal_is_trimmed_after_each(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        settings = {
            "tick_interval_s": 3600,
            "checkpoint_interval_s": 0.05,
            "journal_max_age_s": 3600,
        }
        async with live_server(tmp_path, **settings) as live, live.client() as client:
            trimmed: list[int] = []

            async def trim(covered: int) -> int:
                trimmed.append(covered)
                return 0

            live.tessera.journal.trim = trim  # type: ignore[method-assign]
            answer = await client.post("/api/v1/reports", json=mixed_reports(seed=3, count=30))
            assert answer.status_code == 202
            last = live.tessera.journal.last_seq
            checkpointer = live.tessera.checkpointer
            assert checkpointer is not None
            # The periodic save gets there by itself (bounded wait).
            for _ in range(1_000):
                if checkpointer.saved_at >= last and last in trimmed:
                    break
                await asyncio.sleep(0.01)
            assert checkpointer.saved_at == last
            assert trimmed[-1] == last
            stored = await SqliteCheckpoints(checkpoint_path(tmp_path)).load(
                checkpointer.fingerprints
            )
            assert {part.journal_seq for part in stored.values()} == {last}

    asyncio.run(scenario())


def test_fusion_failing_while_replaying_stops_the_server_with_a_clear_error(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        await first_run(tmp_path)
        checkpoint_path(tmp_path).unlink()

    asyncio.run(scenario())
    # A journal entry that no longer decodes (the disk damaged it).
    with sqlite3.connect(tmp_path / "journal.sqlite3") as conn:
        conn.execute("UPDATE journal SET body = x'00ff' WHERE seq = 5")
    argv = ["serve", "--data", str(tmp_path), "--http-port", "0", "--cot-tls-port", "0"]
    argv += ["--tak-enrollment-port", "0"]
    result = subprocess.run(
        [sys.executable, "-m", "tessera.cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("listening http 127.0.0.1:")
    assert "fusion caught up" not in result.stdout
    assert "tessera: fusion failed while replaying the journal" in result.stderr


async def crashed_then_written(data: Path, count: int) -> tuple[int, int]:
    """A run that dies after a periodic checkpoint, then ``count`` more entries (what
    partners wrote meanwhile); the seq it had saved and the seq the restart serves."""
    async with live_server(data, **QUIET) as live, live.client() as client:
        answer = await client.post("/api/v1/reports", json=mixed_reports(seed=5, count=60))
        assert answer.status_code == 202
        assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)
        checkpointer = live.tessera.checkpointer
        assert checkpointer is not None
        await checkpointer.save()
        saved = (await client.get("/api/v1/tracks")).json()["seq"]
        live.tessera.checkpointer = None  # no checkpoint at the stop: a crash
    await append_tail(data, count)
    async with held_replay(data) as (_, client, _release):
        restored = (await client.get("/api/v1/tracks")).json()["seq"]
    return saved, restored


def test_the_jump_after_a_crash_says_nothing_of_how_much_was_written(tmp_path: Path) -> None:
    async def scenario() -> None:
        few = await crashed_then_written(tmp_path / "few", 1)
        many = await crashed_then_written(tmp_path / "many", 400)
        assert few[0] == many[0]
        assert few[1] - few[0] == many[1] - many[0] > 0

    asyncio.run(scenario())
