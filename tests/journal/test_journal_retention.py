"""Journal retention, on every implementation: ``trim`` drops what the retention settings
let go and never an entry past ``covered``; ``read`` then starts at the first entry held;
a retry of a trimmed report is answered as a repeat, with its original seq, and nothing is
stored twice."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.api import StreamConfig
from nats.js.errors import KeyNotFoundError

from tessera.journal import jetstream_codec as codec
from tessera.journal.base import Journal, JournalEntry, JournalUnavailableError, Retention
from tessera.journal.jetstream_log import delete_journal
from tessera.journal.jetstream_retention import TrimDeniedError
from tessera.journal.sqlite import SqliteJournal
from tests.journal.test_journal_contract import (
    NATS_HOST,
    NATS_PORT,
    NATS_URL,
    FakeClock,
    jetstream_journal,
    jetstream_names,
    report,
    run,
)
from tests.services import require_service

HOUR = 3_600.0


class ArchivedKeys:
    """The long-term record a JetStream journal is given: here, what a test archived."""

    def __init__(self) -> None:
        self.seqs: dict[str, int] = {}
        self.asked = 0

    def archive(self, entries: Sequence[JournalEntry]) -> None:
        for entry in entries:
            if entry.report is not None:
                self.seqs[entry.report.id] = entry.seq

    async def stored_seqs(self, ids: Sequence[str]) -> dict[str, int]:
        self.asked += 1
        return {key: self.seqs[key] for key in ids if key in self.seqs}


RetainingFactory = Callable[[Path, FakeClock, Retention, ArchivedKeys], Journal]


def sqlite_retaining(
    path: Path, clock: FakeClock, retention: Retention, keys: ArchivedKeys
) -> Journal:
    del keys  # the SQLite journal keeps its own
    return SqliteJournal(
        path / "journal.sqlite3", clock=clock, tick_interval=0.05, retention=retention
    )


def jetstream_retaining(
    path: Path, clock: FakeClock, retention: Retention, keys: ArchivedKeys, **options: Any
) -> Journal:
    return jetstream_journal(path, clock, retention=retention, stored_keys=keys, **options)


def jetstream_chunked_retaining(
    path: Path, clock: FakeClock, retention: Retention, keys: ArchivedKeys
) -> Journal:
    return jetstream_retaining(path, clock, retention, keys, max_commit_bytes=16 * 1024)


IMPLEMENTATIONS: dict[str, RetainingFactory] = {
    "sqlite": sqlite_retaining,
    "jetstream": jetstream_retaining,
    "jetstream-chunked": jetstream_chunked_retaining,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RetainingFactory]:
    on_nats = request.param != "sqlite"
    if on_nats:
        require_service("NATS", NATS_HOST, NATS_PORT)
    yield IMPLEMENTATIONS[request.param]
    if on_nats:
        asyncio.run(delete_journal(NATS_URL, jetstream_names(tmp_path)[0]))


async def report_ids(journal: Journal) -> list[str]:
    return [e.report.id for e in await journal.read(0, 1_000_000) if e.report is not None]


async def archived(journal: Journal, keys: ArchivedKeys) -> None:
    """What the archive would hold: every report up to the journal's last entry."""
    keys.archive(await journal.read(0, 1_000_000))


def test_trim_by_age_reads_from_the_first_held_and_answers_retries_as_repeats(
    factory: RetainingFactory, tmp_path: Path
) -> None:
    async def scenario() -> None:
        clock, keys = FakeClock(), ArchivedKeys()
        journal = factory(tmp_path, clock, Retention(max_age_s=HOUR), keys)
        await journal.open()
        old = await journal.append([report("a"), report("b")])
        clock.advance(2 * HOUR)
        young = await journal.append([report("c")])
        await archived(journal, keys)
        first = await journal.trim(journal.last_seq)
        assert old.last_seq < first <= young.first_seq
        assert journal.first_seq == first
        entries = await journal.read(0, 100)
        assert entries and entries[0].seq == first
        assert await report_ids(journal) == ["c"]
        last = journal.last_seq
        retry = await journal.append([report("a"), report("b"), report("c")])
        assert retry.seqs == [*old.seqs, *young.seqs] and retry.duplicates == 3
        assert await report_ids(journal) == ["c"]
        assert journal.last_seq == last, "nothing was appended again"
        await journal.close()

    run(scenario())


def test_trim_never_passes_covered(factory: RetainingFactory, tmp_path: Path) -> None:
    async def scenario() -> None:
        clock, keys = FakeClock(), ArchivedKeys()
        journal = factory(tmp_path, clock, Retention(max_age_s=HOUR), keys)
        await journal.open()
        for index in range(4):
            await journal.append([report(f"r{index}")])
        clock.advance(2 * HOUR)
        await journal.append([report("young")])
        await archived(journal, keys)
        assert await journal.trim(2) == 3
        assert [e.seq for e in await journal.read(0, 2)] == [3, 4]
        # Everything covered: the newest entry stays (it carries the sequence on).
        await journal.trim(journal.last_seq)
        assert journal.first_seq <= journal.last_seq
        await journal.close()

    run(scenario())


def test_trim_by_size_drops_the_oldest(factory: RetainingFactory, tmp_path: Path) -> None:
    async def scenario() -> None:
        clock, keys = FakeClock(), ArchivedKeys()
        journal = factory(tmp_path, clock, Retention(max_bytes=64 * 1024), keys)
        await journal.open()
        for batch in range(10):
            await journal.append([report(f"b{batch}-{i}") for i in range(100)])
        await archived(journal, keys)
        covered = journal.last_seq - 100
        first = await journal.trim(covered)
        assert 1 < first <= covered + 1
        ids = await report_ids(journal)
        assert ids[-100:] == [f"b9-{i}" for i in range(100)]
        assert "b0-0" not in ids
        retry = await journal.append([report("b0-0")])
        assert retry.duplicates == 1 and retry.seqs == [1]
        await journal.close()

    run(scenario())


def test_without_retention_trim_keeps_everything(factory: RetainingFactory, tmp_path: Path) -> None:
    async def scenario() -> None:
        clock, keys = FakeClock(), ArchivedKeys()
        journal = factory(tmp_path, clock, Retention(), keys)
        await journal.open()
        await journal.append([report("a")])
        clock.advance(100 * HOUR)
        await journal.append([report("b")])
        assert await journal.trim(journal.last_seq) == 1
        assert await report_ids(journal) == ["a", "b"]
        await journal.close()

    run(scenario())


# -- SQLite: the table of kept keys, and space given back -------------------------------


def test_sqlite_forgets_a_trimmed_id_past_the_dedup_window(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        retention = Retention(max_age_s=HOUR, dedup_window_s=2 * HOUR)
        journal = sqlite_retaining(tmp_path, clock, retention, ArchivedKeys())
        await journal.open()
        first = await journal.append([report("a")])
        clock.advance(1.5 * HOUR)
        await journal.append([report("b")])
        await journal.trim(journal.last_seq)
        # Trimmed, within the window: a repeat.
        assert (await journal.append([report("a")])).seqs == first.seqs
        clock.advance(HOUR)
        await journal.append([report("c")])
        await journal.trim(journal.last_seq)
        # Trimmed and past the window: the id is new again (documented).
        again = await journal.append([report("a")])
        assert again.duplicates == 0 and again.seqs[0] > first.seqs[0]
        await journal.close()

    run(scenario())


def test_sqlite_kept_keys_survive_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        retention = Retention(max_age_s=HOUR)
        journal = sqlite_retaining(tmp_path, clock, retention, ArchivedKeys())
        await journal.open()
        first = await journal.append([report("a")])
        clock.advance(2 * HOUR)
        await journal.append([report("b")])
        await journal.trim(journal.last_seq)
        await journal.close()
        journal = sqlite_retaining(tmp_path, clock, retention, ArchivedKeys())
        await journal.open()
        assert journal.first_seq > first.seqs[0]
        assert (await journal.append([report("a")])).seqs == first.seqs
        await journal.close()

    run(scenario())


def used_pages(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
        free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    conn.close()
    assert free == 0, "freed pages are given back, not kept on a free list"
    return pages


def test_sqlite_trimmed_file_stops_growing(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        path = tmp_path / "journal.sqlite3"
        retention = Retention(max_age_s=HOUR, dedup_window_s=HOUR)
        journal = sqlite_retaining(tmp_path, clock, retention, ArchivedKeys())
        await journal.open()
        sizes: list[int] = []
        for hour in range(6):
            await journal.append([report(f"h{hour}-{i}") for i in range(2_000)])
            clock.advance(2 * HOUR)
            await journal.append([report(f"mark-{hour}")])
            before = used_pages(path)
            await journal.trim(journal.last_seq)
            sizes.append(used_pages(path))
            # Kept keys take far less room than the entries they stand for.
            assert sizes[-1] < before / 2, (before, sizes)
        await journal.close()
        # Each batch is dropped, and its keys forgotten past the window, as the next one
        # comes: the file holds about the same instead of growing by a batch each time.
        assert max(sizes[1:]) <= sizes[0], sizes

    run(scenario())


def test_sqlite_journal_written_before_retention_is_made_reclaimable(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA auto_vacuum=NONE")
        conn.execute("CREATE TABLE filler (x)")
    conn.close()

    async def scenario() -> None:
        journal = sqlite_retaining(tmp_path, FakeClock(), Retention(max_age_s=HOUR), ArchivedKeys())
        await journal.open()
        await journal.close()

    run(scenario())
    with sqlite3.connect(path) as conn:
        assert int(conn.execute("PRAGMA auto_vacuum").fetchone()[0]) == 2
    conn.close()


# -- JetStream: claims last the de-duplication window, the archive answers after it ------


@pytest.fixture
def nats_path(tmp_path: Path) -> Iterator[Path]:
    """The test's path, naming its own JetStream journal, removed afterwards."""
    require_service("NATS", NATS_HOST, NATS_PORT)
    yield tmp_path
    asyncio.run(delete_journal(NATS_URL, jetstream_names(tmp_path)[0]))


async def claim_expired(path: Path, report_id: str, deadline_s: float = 30.0) -> bool:
    """Poll (with a deadline) until the claim of ``report_id`` is gone from the bucket."""
    nc = await nats.connect(NATS_URL)
    try:
        kv = await nc.jetstream().key_value(codec.claims_bucket(jetstream_names(path)[0]))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + deadline_s
        while loop.time() < deadline:
            try:
                await kv.get(codec.report_key(report_id))
            except KeyNotFoundError:
                return True
            await asyncio.sleep(0.1)
        return False
    finally:
        await nc.close()


def test_jetstream_retry_after_the_claims_expired_is_answered_from_the_archive(
    nats_path: Path,
) -> None:
    async def scenario() -> None:
        clock, keys = FakeClock(), ArchivedKeys()
        # Claims last one (real) second here; settings allow no less than a minute.
        retention = Retention(max_age_s=HOUR, dedup_window_s=1.0)
        journal = jetstream_retaining(nats_path, clock, retention, keys)
        await journal.open()
        first = await journal.append([report("a"), report("b")])
        keys.archive(await journal.read(0, 100))
        del keys.seqs["b"]  # the archive has not caught up with "b" (the documented edge)
        assert await claim_expired(nats_path, "a") and await claim_expired(nats_path, "b")
        last = journal.last_seq
        retry = await journal.append([report("a")])
        assert retry.seqs == first.seqs[:1] and retry.duplicates == 1
        assert journal.last_seq == last, "nothing was appended again"
        # Past the window and not in the archive: stored as a new report.
        again = await journal.append([report("b")])
        assert again.duplicates == 0 and again.seqs[0] > last
        await journal.close()

    run(scenario())


def test_jetstream_claims_bucket_follows_the_window(nats_path: Path) -> None:
    async def scenario() -> None:
        stream = jetstream_names(nats_path)[0]
        for window in (120.0, None):
            journal = jetstream_retaining(
                nats_path, FakeClock(), Retention(dedup_window_s=window), ArchivedKeys()
            )
            await journal.open()
            await journal.close()
            nc = await nats.connect(NATS_URL)
            info = await nc.jetstream().stream_info(f"KV_{codec.claims_bucket(stream)}")
            await nc.close()
            assert (info.config.max_age or 0.0) == (window or 0.0)

    run(scenario())


def test_a_reader_behind_the_trimmed_head_is_warned_and_a_reopened_journal_agrees(
    factory: RetainingFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        clock, keys = FakeClock(), ArchivedKeys()
        retention = Retention(max_age_s=HOUR)
        journal = factory(tmp_path, clock, retention, keys)
        await journal.open()
        for index in range(3):
            await journal.append([report(f"r{index}")])
        clock.advance(2 * HOUR)
        await journal.append([report("young")])
        await archived(journal, keys)
        with caplog.at_level(logging.INFO):
            first = await journal.trim(journal.last_seq)
        assert first > 3
        # One line per trim: how many entries went, and the first one held.
        trims = [r.getMessage() for r in caplog.records if "journal trimmed" in r.getMessage()]
        assert len(trims) == 1 and trims[0].endswith(f"first entry held {first}")
        assert trims[0].startswith(f"journal trimmed: {first - 1} entries")
        with caplog.at_level(logging.WARNING):
            await journal.read(0, 10)
        assert any("were trimmed" in record.getMessage() for record in caplog.records)
        await journal.close()
        # Another process (or a restart) reads from the same first entry.
        reopened = factory(tmp_path, clock, retention, keys)
        await reopened.open()
        assert reopened.first_seq == first
        assert (await reopened.read(0, 10))[0].seq == first
        await reopened.close()

    run(scenario())


def test_jetstream_stream_made_before_retention_goes_on_unchanged(nats_path: Path) -> None:
    async def scenario() -> None:
        stream, prefix = jetstream_names(nats_path)
        nc = await nats.connect(NATS_URL)
        # As streams were made before retention: purges denied, for good.
        config = StreamConfig(
            name=stream, subjects=[f"{prefix}.log"], deny_purge=True, allow_direct=True
        )
        await nc.jetstream().add_stream(config)
        await nc.close()
        clock = FakeClock()
        journal = jetstream_retaining(nats_path, clock, Retention(max_age_s=HOUR), ArchivedKeys())
        await journal.open()
        await journal.append([report("a")])
        clock.advance(2 * HOUR)
        await journal.append([report("b")])
        with pytest.raises(TrimDeniedError, match="denying purges"):
            await journal.trim(journal.last_seq)
        assert await report_ids(journal) == ["a", "b"]
        # Its claims stay where they were, kept for ever: ids stored before still count.
        nc = await nats.connect(NATS_URL)
        kv = await nc.jetstream().key_value(codec.index_bucket(stream))
        assert (await kv.get(codec.report_key("a"))).value
        await nc.close()
        assert (await journal.append([report("a")])).duplicates == 1
        await journal.close()

    run(scenario())


def test_jetstream_chunks_of_a_trimmed_commit_go_with_it(nats_path: Path) -> None:
    async def scenario() -> None:
        clock, keys = FakeClock(), ArchivedKeys()
        journal = jetstream_chunked_retaining(nats_path, clock, Retention(max_age_s=HOUR), keys)
        await journal.open()
        large = await journal.append([report(f"r{i}") for i in range(300)])
        clock.advance(2 * HOUR)
        await journal.append([report("small")])
        await archived(journal, keys)
        bucket = f"KV_{codec.index_bucket(jetstream_names(nats_path)[0])}"
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        try:
            assert (await js.stream_info(bucket)).state.messages > 1, "the batch was chunked"
            assert await journal.trim(journal.last_seq) > large.last_seq
            assert (await js.stream_info(bucket)).state.messages == 0
        finally:
            await nc.close()
        await journal.close()

    run(scenario())


class UnreachableRecord:
    async def stored_seqs(self, ids: Sequence[str]) -> dict[str, int]:
        raise OSError("connection refused")


def test_jetstream_append_when_the_archive_cannot_be_asked_is_retryable(nats_path: Path) -> None:
    async def scenario() -> None:
        journal = jetstream_journal(
            nats_path,
            FakeClock(),
            retention=Retention(dedup_window_s=HOUR),
            stored_keys=UnreachableRecord(),
        )
        await journal.open()
        with pytest.raises(JournalUnavailableError, match="connection refused"):
            await journal.append([report("a")])
        assert await report_ids(journal) == [], "nothing stored"
        await journal.close()

    run(scenario())


def test_jetstream_gateway_cut_off_past_the_trimmed_front_goes_on(nats_path: Path) -> None:
    async def scenario() -> None:
        clock, keys = FakeClock(), ArchivedKeys()
        retention = Retention(max_age_s=HOUR)
        trimmer = jetstream_retaining(nats_path, clock, retention, keys)
        gateway = jetstream_journal(nats_path, clock, ticks=False, stall_timeout=0.2)
        await trimmer.open()
        await gateway.open()
        # The gateway stops hearing of commits (cut off from the cluster, say).
        follower = gateway._follower
        assert follower is not None
        await follower.unsubscribe()
        for index in range(3):
            await trimmer.append([report(f"r{index}")])
        clock.advance(2 * HOUR)
        await trimmer.append([report("young")])
        await archived(trimmer, keys)
        await trimmer.trim(trimmer.last_seq)
        # Back, it goes on from the first commit held and its append lands after the rest.
        landed = await gateway.append([report("late")])
        assert landed.duplicates == 0
        assert await trimmer.wait(landed.seqs[0] - 1, timeout=10) >= landed.seqs[0]
        assert (await report_ids(trimmer))[-2:] == ["young", "late"]
        await gateway.close()
        await trimmer.close()

    run(scenario())
