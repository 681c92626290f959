"""Journal retention with PostGIS: how far saved states cover the journal (every picture's
checkpoint and the report archive), trims that never pass it, and retries older than the
JetStream journal's claims answered from the report archive."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tessera.journal.base import Retention
from tessera.journal.jetstream_log import delete_journal
from tessera.store.retention import ArchivedReportKeys, covered_position
from tests.journal.test_journal_contract import (
    NATS_HOST,
    NATS_PORT,
    NATS_URL,
    FakeClock,
    jetstream_journal,
    jetstream_names,
    report,
)
from tests.journal.test_journal_retention import claim_expired
from tests.postgis.test_report_archive import archiving, sql
from tests.services import require_service
from tests.support import clocked_server, report_doc
from tests.test_retention import Clock

HOUR = 3_600.0


@pytest.fixture
def nats_path(tmp_path: Path) -> Iterator[Path]:
    require_service("NATS", NATS_HOST, NATS_PORT)
    yield tmp_path
    asyncio.run(delete_journal(NATS_URL, jetstream_names(tmp_path)[0]))


def checkpoint(dsn: str, picture: str, journal_seq: int) -> None:
    sql(
        dsn,
        "INSERT INTO fusion_checkpoints (picture, journal_seq, seq, fingerprint, body, taken_at) "
        "VALUES (%s, %s, 0, 'f', '\\x00', now()) "
        "ON CONFLICT (picture) DO UPDATE SET journal_seq = EXCLUDED.journal_seq",
        (picture, journal_seq),
    )


def test_covered_is_the_least_of_every_pictures_checkpoint_and_the_archive(
    migrated: str,
) -> None:
    async def covered() -> int | None:
        return await covered_position(migrated, ["COP", "AIR"])

    sql(migrated, "UPDATE report_archive SET journal_seq = 50")
    assert asyncio.run(covered()) is None, "no checkpoint at all"
    checkpoint(migrated, "COP", 40)
    assert asyncio.run(covered()) is None, "AIR has none: its worker would replay it all"
    checkpoint(migrated, "AIR", 45)
    assert asyncio.run(covered()) == 40
    checkpoint(migrated, "COP", 70)
    checkpoint(migrated, "AIR", 80)
    assert asyncio.run(covered()) == 50, "never past what the archive holds"


def test_covered_waits_for_other_groups_pictures(migrated: str) -> None:
    """A worker fusing COP alone never trims past a picture another worker writes."""

    async def covered() -> int | None:
        return await covered_position(migrated, ["COP"])

    sql(migrated, "UPDATE report_archive SET journal_seq = 500")
    checkpoint(migrated, "COP", 300)
    assert asyncio.run(covered()) == 300
    sql(migrated, "INSERT INTO pictures (name) VALUES ('REL-UKR')")
    assert asyncio.run(covered()) is None, "REL-UKR's worker has saved no checkpoint yet"
    checkpoint(migrated, "REL-UKR", 120)
    assert asyncio.run(covered()) == 120


def test_jetstream_trims_to_the_archive_and_answers_retries_from_it(
    migrated: str, nats_path: Path
) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        keys = ArchivedReportKeys(migrated)
        retention = Retention(max_age_s=HOUR, dedup_window_s=1.0)
        journal = jetstream_journal(nats_path, clock, retention=retention, stored_keys=keys)
        await journal.open()
        try:
            # One commit each: a trim drops whole commits.
            old = [await journal.append([report(f"old{i}")]) for i in range(5)]
            seqs = [result.seqs[0] for result in old]
            clock.advance(2 * HOUR)
            await journal.append([report("young")])
            async with archiving(migrated, journal) as archive:
                assert await archive.wait_for(seqs[-1], 30)
            # The archive behind the checkpoint: the trim stops at the archive.
            sql(migrated, "UPDATE report_archive SET journal_seq = %s", (seqs[2],))
            checkpoint(migrated, "COP", journal.last_seq)
            covered = await covered_position(migrated, ["COP"])
            assert covered == seqs[2]
            first = await journal.trim(covered)
            assert first == seqs[3], "trimmed up to the archive's position, no further"
            assert await claim_expired(nats_path, "old0")
            retry = await journal.append([report("old0"), report("old1")])
            assert retry.seqs == seqs[:2] and retry.duplicates == 2
            assert await keys.stored_seqs(["old0", "nowhere"]) == {"old0": seqs[0]}
        finally:
            await journal.close()
            await keys.close()

    asyncio.run(scenario())


def test_a_checkpoint_trims_and_a_retried_batch_is_stored_once(
    migrated: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        clock = Clock()
        settings = {
            "postgis_dsn": migrated,
            "journal_max_age_s": 60,
            "dedup_window_s": 3600,
            "checkpoint_interval_s": 3600,
            "tick_interval_s": 3600,
        }
        async with clocked_server(tmp_path, clock, **settings) as live, live.client() as client:
            tessera = live.tessera
            batch = [report_doc(report_id=f"r{i}", observed_at=clock.now) for i in range(3)]
            first = await client.post("/api/v1/reports", json=batch)
            clock.now += timedelta(minutes=5)
            later = [report_doc(report_id="later", observed_at=clock.now)]
            assert (await client.post("/api/v1/reports", json=later)).status_code == 202
            journal = tessera.journal
            assert await tessera.worker.wait_caught_up(journal.last_seq, 30)
            assert tessera.archive is not None
            assert await tessera.archive.wait_for(journal.last_seq, 30)
            assert tessera.checkpointer is not None
            await tessera.checkpointer.save()
            assert journal.first_seq == 4, "the checkpoint's save trimmed the journal"
            held = journal.last_seq
            again = await client.post("/api/v1/reports", json=batch)
            assert again.status_code == 202 and again.json() == first.json()
            assert journal.last_seq == held, "nothing journaled twice"

    asyncio.run(scenario())
