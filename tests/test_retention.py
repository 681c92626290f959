"""Retention as a user meets it: the settings, trimming after a checkpoint, and a client
retrying a batch whose reports were trimmed away (answered as the first time, stored once).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from tessera.journal.base import Journal
from tessera.settings import load_settings
from tessera.trimming import Coverage, JournalTrimmer, saved_position
from tests.support import clocked_server, report_doc


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"journal_max_age_s": 0}, "journal_max_age_s must be at least 60"),
        ({"journal_max_age_s": float("nan")}, "journal_max_age_s must be at least 60"),
        ({"dedup_window_s": -5}, "dedup_window_s must be at least 60"),
        ({"journal_max_bytes": 1000}, "journal_max_bytes must be at least 1048576"),
        (
            {"journal_backend": "jetstream", "journal_max_age_s": 3600},
            "need postgis_dsn with journal_backend = 'jetstream'",
        ),
    ],
)
def test_nonsense_retention_settings_are_refused_clearly(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load_settings(**overrides)


def test_the_dedup_window_defaults_to_the_journal_age() -> None:
    assert load_settings().dedup_window is None
    assert load_settings().retains_all
    settings = load_settings(journal_max_age_s=86_400)
    assert settings.dedup_window == 86_400 and not settings.retains_all
    assert load_settings(journal_max_age_s=86_400, dedup_window_s=600).dedup_window == 600


class RecordingJournal:
    def __init__(self) -> None:
        self.trims: list[int] = []

    async def trim(self, covered: int) -> int:
        self.trims.append(covered)
        return covered + 1


def test_the_trimmer_trims_only_when_active_and_covered() -> None:
    async def scenario() -> None:
        journal = RecordingJournal()
        active = [False]

        async def unknown(position: int) -> int | None:
            del position
            return None

        def trimmer(coverage: Coverage) -> JournalTrimmer:
            return JournalTrimmer(cast(Journal, journal), coverage, active=lambda: active[0])

        await trimmer(saved_position).after_checkpoint(10)
        assert journal.trims == [], "not the process that trims"
        active[0] = True
        await trimmer(unknown).after_checkpoint(10)
        assert journal.trims == [], "no checkpoint for every picture: nothing trimmed"
        await trimmer(saved_position).after_checkpoint(10)
        assert journal.trims == [10]

    asyncio.run(scenario())


def test_a_retried_batch_after_a_trim_is_answered_as_the_first_time(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = Clock()
        # Ids are recognised for an hour, entries kept for a minute.
        settings = {"journal_max_age_s": 60, "dedup_window_s": 3600, "tick_interval_s": 3600}
        async with clocked_server(tmp_path, clock, **settings) as live, live.client() as client:
            tessera = live.tessera
            batch = [report_doc(report_id=f"r{i}", observed_at=clock.now) for i in range(3)]
            first = await client.post("/api/v1/reports", json=batch)
            assert first.status_code == 202
            clock.now += timedelta(minutes=5)
            later = report_doc(report_id="later", observed_at=clock.now)
            assert (await client.post("/api/v1/reports", json=[later])).status_code == 202
            journal = tessera.journal
            assert await tessera.worker.wait_caught_up(journal.last_seq, 30)
            # What the embedded checkpoint does once it has saved the pictures' state.
            assert tessera.trimmer is not None
            await tessera.trimmer.after_checkpoint(tessera.worker.position)
            assert journal.first_seq == 4
            held = journal.last_seq
            again = await client.post("/api/v1/reports", json=batch)
            assert again.status_code == 202
            assert again.json() == first.json()
            assert journal.last_seq == held, "nothing journaled twice"
            ids = [e.report.id for e in await journal.read(0, 100) if e.report is not None]
            assert len(ids) == 1

    asyncio.run(scenario())
