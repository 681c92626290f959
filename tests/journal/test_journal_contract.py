"""The journal contract: every implementation must pass every case here."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest

from tessera.core.model import Label, Position, Report, Source, SourceKind
from tessera.core.overlays import Overlay, OverlayKind, OverlayRevision
from tessera.journal import jetstream_codec as codec
from tessera.journal.base import Journal, JournalClosedError
from tessera.journal.jetstream import JetStreamJournal
from tessera.journal.jetstream_log import delete_journal
from tessera.journal.sqlite import SqliteJournal
from tests.services import require_service

JournalFactory = Callable[[Path, Callable[[], datetime]], Journal]
START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def sqlite_journal(path: Path, clock: Callable[[], datetime]) -> Journal:
    return SqliteJournal(path / "journal.sqlite3", clock=clock, tick_interval=0.05)


NATS_HOST, NATS_PORT = "127.0.0.1", 4222
NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"


def jetstream_names(path: Path) -> tuple[str, str]:
    """A stream name and subject prefix of the test's own, the same for every journal
    the test opens on ``path`` (a reopened journal finds what the first one wrote)."""
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    return f"TEST_JOURNAL_{digest}", f"test.journal.{digest}"


def jetstream_journal(
    path: Path, clock: Callable[[], datetime], **options: Any
) -> JetStreamJournal:
    stream, prefix = jetstream_names(path)
    settings: dict[str, Any] = {"ticks": True, "tick_interval": 0.05} | options
    return JetStreamJournal(NATS_URL, clock=clock, stream=stream, prefix=prefix, **settings)


def jetstream_chunked(path: Path, clock: Callable[[], datetime]) -> Journal:
    # Small commits: every multi-report append goes through chunks.
    return jetstream_journal(path, clock, max_commit_bytes=16 * 1024)


IMPLEMENTATIONS: dict[str, JournalFactory] = {
    "sqlite": sqlite_journal,
    "jetstream": jetstream_journal,
    "jetstream-chunked": jetstream_chunked,
}
ON_NATS = {"jetstream", "jetstream-chunked"}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JournalFactory]:
    on_nats = request.param in ON_NATS
    if on_nats:
        require_service("NATS", NATS_HOST, NATS_PORT)
    yield IMPLEMENTATIONS[request.param]
    if on_nats:
        asyncio.run(delete_journal(NATS_URL, jetstream_names(tmp_path)[0]))


def report(report_id: str, lat: float = 53.0) -> Report:
    return Report(
        id=report_id,
        source=Source("uav-1", SourceKind.UAV),
        observed_at=START,
        position=Position(lat, 18.0),
        label=Label("UNCLASSIFIED"),
    )


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


async def opened(factory: JournalFactory, path: Path, clock: FakeClock) -> Journal:
    journal = factory(path, clock)
    await journal.open()
    return journal


async def reports_only(journal: Journal) -> list[Report]:
    entries = await journal.read(0, 1_000_000)
    return [entry.report for entry in entries if entry.report is not None]


def test_append_assigns_consecutive_seqs_and_stamps_received_at(
    factory: JournalFactory, tmp_path: Path
) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        journal = await opened(factory, tmp_path, clock)
        first = await journal.append([report("a"), report("b")])
        clock.advance(5)
        second = await journal.append([report("c")])
        assert first.seqs == [1, 2]
        assert second.seqs == [3]
        stored = await reports_only(journal)
        assert [r.id for r in stored] == ["a", "b", "c"]
        assert stored[0].received_at == START
        assert stored[2].received_at == START + timedelta(seconds=5)
        await journal.close()

    run(scenario())


def test_duplicate_ids_are_stored_once_and_answered_with_original_seq(
    factory: JournalFactory, tmp_path: Path
) -> None:
    async def scenario() -> None:
        journal = await opened(factory, tmp_path, FakeClock())
        first = await journal.append([report("a"), report("b")])
        retry = await journal.append([report("a"), report("b"), report("c")])
        assert retry.seqs[:2] == first.seqs
        assert retry.duplicates == 2
        same_batch = await journal.append([report("d"), report("d")])
        assert same_batch.seqs[0] == same_batch.seqs[1]
        assert [r.id for r in await reports_only(journal)] == ["a", "b", "c", "d"]
        await journal.close()

    run(scenario())


def test_concurrent_appends_are_each_atomic_and_all_durable(
    factory: JournalFactory, tmp_path: Path
) -> None:
    async def scenario() -> None:
        journal = await opened(factory, tmp_path, FakeClock())
        batches = [[report(f"b{b}-{i}") for i in range(50)] for b in range(40)]
        results = await asyncio.gather(*(journal.append(batch) for batch in batches))
        for result in results:
            # One batch's reports are contiguous: nobody else's report lands in between.
            assert result.seqs == list(range(result.first_seq, result.last_seq + 1))
        await journal.close()
        reopened = await opened(factory, tmp_path, FakeClock())
        assert len(await reports_only(reopened)) == 2000
        assert reopened.last_seq >= 2000
        await reopened.close()

    run(scenario())


def test_ticks_mark_time_when_nothing_arrives(factory: JournalFactory, tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        journal = await opened(factory, tmp_path, clock)
        await journal.append([report("a")])
        clock.advance(3)
        seq = await journal.wait(journal.last_seq, timeout=5)
        entries = await journal.read(0, 100)
        ticks = [entry for entry in entries if entry.report is None]
        assert seq > 1 and ticks, "an idle journal writes ticks"
        assert ticks[-1].received_at == START + timedelta(seconds=3)
        # The journal's clock never runs backwards, whatever the wall clock does.
        clock.advance(-60)
        await journal.append([report("b")])
        entries = await journal.read(0, 1000)
        times = [entry.received_at for entry in entries]
        assert times == sorted(times)
        await journal.close()

    run(scenario())


def test_read_pages_through_old_and_recent_entries(factory: JournalFactory, tmp_path: Path) -> None:
    async def scenario() -> None:
        journal = await opened(factory, tmp_path, FakeClock())
        await journal.append([report(f"r{i}") for i in range(300)])
        await journal.close()
        journal = await opened(factory, tmp_path, FakeClock())
        await journal.append([report(f"s{i}") for i in range(10)])
        seen: list[int] = []
        position = 0
        while True:
            page = await journal.read(position, 64)
            if not page:
                break
            seen.extend(entry.seq for entry in page)
            position = page[-1].seq
        assert seen == list(range(1, len(seen) + 1))
        assert len(seen) >= 310
        found = await journal.reports(["r0", "s9", "missing"])
        assert set(found) == {"r0", "s9"}
        await journal.close()

    run(scenario())


def test_append_after_close_is_refused(factory: JournalFactory, tmp_path: Path) -> None:
    async def scenario() -> None:
        journal = await opened(factory, tmp_path, FakeClock())
        await journal.close()
        with pytest.raises(JournalClosedError):
            await journal.append([report("late")])

    run(scenario())


def revision(
    revision_id: str, overlay_id: str = "ovl-1", *, deleted: bool = False
) -> OverlayRevision:
    overlay = Overlay(
        id=overlay_id,
        name="Objective",
        kind=OverlayKind.POINT,
        coordinates=((18.0, 53.0),),
        label=Label("UNCLASSIFIED"),
    )
    return OverlayRevision(
        id=revision_id, overlay_id=overlay_id, overlay=None if deleted else overlay
    )


def test_overlay_revisions_share_the_sequence_and_are_de_duplicated(
    factory: JournalFactory, tmp_path: Path
) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        journal = await opened(factory, tmp_path, clock)
        # A revision may carry the same id as a report: they never collide.
        mixed = await journal.append([report("a"), revision("a"), report("b")])
        assert mixed.seqs == [1, 2, 3] and mixed.duplicates == 0
        retry = await journal.append([revision("a"), revision("gone", deleted=True)])
        assert retry.seqs[0] == 2 and retry.duplicates == 1
        await journal.close()
        # Read back from storage, not from what the writer remembers.
        journal = await opened(factory, tmp_path, clock)
        entries = await journal.read(0, 100)
        kinds = ["report" if e.report else "overlay" if e.overlay else "tick" for e in entries]
        assert kinds[:4] == ["report", "overlay", "report", "overlay"]
        stamped = entries[1].overlay
        assert stamped is not None and stamped.overlay is not None
        assert stamped.overlay.updated_at == START
        assert entries[3].overlay is not None and entries[3].overlay.overlay is None
        assert set(await journal.reports(["a", "b"])) == {"a", "b"}
        await journal.close()

    run(scenario())


# -- JetStream only: several gateways appending to one journal ---------------------------


@pytest.fixture
def nats_path(tmp_path: Path) -> Iterator[Path]:
    """The test's path, naming its own JetStream journal, removed afterwards."""
    require_service("NATS", NATS_HOST, NATS_PORT)
    yield tmp_path
    asyncio.run(delete_journal(NATS_URL, jetstream_names(tmp_path)[0]))


def test_gateways_append_to_one_log_each_batch_whole_and_once(nats_path: Path) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        first = jetstream_journal(nats_path, clock, stall_timeout=0.5)
        second = jetstream_journal(nats_path, clock, ticks=False, stall_timeout=0.5)
        await first.open()
        await second.open()
        own = [[report(f"g{g}-b{b}-{i}") for i in range(30)] for g in (1, 2) for b in range(15)]
        # A client retrying a batch on the other gateway: the same ids sent to both.
        both = [[report(f"retry-{b}-{i}") for i in range(30)] for b in range(5)]
        calls = [first.append(batch) for batch in own[:15] + both]
        calls += [second.append(batch) for batch in own[15:] + both]
        results = await asyncio.gather(*calls)
        for result in results:
            assert result.seqs == list(range(result.first_seq, result.last_seq + 1))
        retried = list(zip(results[15:20], results[35:40], strict=True))
        assert all(a.seqs == b.seqs and a.duplicates + b.duplicates == 30 for a, b in retried)
        await first.close()
        await second.close()
        reader = jetstream_journal(nats_path, clock, ticks=False)
        await reader.open()
        entries = await reader.read(0, 1_000_000)
        assert [entry.seq for entry in entries] == list(range(1, len(entries) + 1))
        ids = [entry.report.id for entry in entries if entry.report is not None]
        assert len(ids) == len(set(ids)) == 35 * 30
        times = [entry.received_at for entry in entries]
        assert times == sorted(times)
        await reader.close()

    run(scenario())


def test_claims_of_a_writer_that_died_are_voided_after_the_stall(nats_path: Path) -> None:
    async def scenario() -> None:
        journal = jetstream_journal(nats_path, FakeClock(), ticks=False, stall_timeout=0.2)
        await journal.open()
        first = await journal.append([report("x")])
        stream = jetstream_names(nats_path)[0]
        nc = await nats.connect(NATS_URL)
        kv = await nc.jetstream().key_value(codec.claims_bucket(stream))
        # A gateway claimed "y" and "z", then died before its commit landed.
        claim = codec.encode_index(codec.IndexEntry("dead-writer", 2))
        await kv.put(codec.report_key("y"), claim)
        await kv.put(codec.report_key("z"), claim)
        await nc.close()
        # A client retrying with this gateway waits for the stall, then takes them over.
        retry = await journal.append([report("y"), report("z")])
        assert retry.seqs == [2, 3] and retry.duplicates == 0
        # The original claim still holds: the same ids again are duplicates.
        again = await journal.append([report("x"), report("z")])
        assert again.seqs == [first.seqs[0], 3] and again.duplicates == 2
        entries = await journal.read(0, 10)
        assert [entry.report.id for entry in entries if entry.report] == ["x", "y", "z"]
        assert set(await journal.reports(["x", "y", "z"])) == {"x", "y", "z"}
        await journal.close()

    run(scenario())


def test_a_slow_append_is_not_starved_by_another_writers_commits(nats_path: Path) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        # One gateway ticks as often as it can, the other sends a large batch.
        busy = jetstream_journal(nats_path, clock, tick_interval=0.001)
        gateway = jetstream_journal(nats_path, clock, ticks=False, max_commit_bytes=64 * 1024)
        await busy.open()
        await gateway.open()
        result = await gateway.append([report(f"r{i}") for i in range(2000)])
        assert result.seqs == list(range(result.first_seq, result.first_seq + 2000))
        await gateway.close()
        await busy.close()

    run(scenario())
