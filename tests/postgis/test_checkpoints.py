"""Fusion checkpoints: a worker writing to PostGIS saves its state; the next one loads it
and replays only the journal's tail, and the picture is the same as a full replay's."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tessera.codecs.geojson import track_feature
from tessera.codecs.json import encode
from tessera.store.base import TrackQuery
from tests.support import live_server, report_doc


def docs(round_: int) -> list[dict[str, Any]]:
    when = datetime.now(UTC) - timedelta(seconds=30 - round_)
    return [
        report_doc(
            report_id=f"r{round_}-{unit}",
            subject=f"unit-{unit}",
            source=f"unit-{unit}",
            kind="unit",
            identity="friend",
            lat=53.0 + unit / 50,
            lon=18.0 + round_ / 1000,
            observed_at=when,
        )
        for unit in range(8)
    ]


def features(tracks: list[Any]) -> list[Any]:
    return sorted((json.loads(encode(track_feature(t))) for t in tracks), key=lambda f: f["id"])


def test_the_next_worker_resumes_from_the_checkpoint(migrated: str, tmp_path: Path) -> None:
    # Checkpoints only when the test says (the periodic one would come after an hour).
    settings = {"postgis_dsn": migrated, "checkpoint_interval_s": 3600, "tick_interval_s": 3600}

    async def first() -> tuple[int, list[Any]]:
        async with live_server(tmp_path, **settings) as live, live.client() as client:
            for round_ in range(3):
                posted = await client.post("/api/v1/reports", json=docs(round_))
                assert posted.status_code == 202
            assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)
            checkpointer = live.tessera.checkpointer
            assert checkpointer is not None
            await checkpointer.save()
            assert checkpointer.saved_at == live.tessera.worker.position
            # More after the checkpoint: the tail the next worker must replay.
            posted = await client.post("/api/v1/reports", json=docs(3))
            assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)
            saved = checkpointer.saved_at
            _, tracks = live.tessera.store.tracks("COP", TrackQuery())
            # Stop without the last checkpoint, as a killed worker would.
            live.tessera.checkpointer = None
            return saved, features(tracks)

    async def second(saved: int, expected: list[Any]) -> None:
        async with live_server(tmp_path, **settings) as live:
            checkpointer = live.tessera.checkpointer
            assert checkpointer is not None
            assert checkpointer.restored_from == saved
            _, tracks = live.tessera.store.tracks("COP", TrackQuery())
            assert features(tracks) == expected

    saved, expected = asyncio.run(first())
    asyncio.run(second(saved, expected))


def test_a_checkpoint_under_another_configuration_is_not_used(
    migrated: str, tmp_path: Path
) -> None:
    settings: dict[str, Any] = {
        "postgis_dsn": migrated,
        "checkpoint_interval_s": 3600,
        "tick_interval_s": 3600,
    }

    async def run(lineage_window: int) -> tuple[int | None, list[Any]]:
        async with live_server(tmp_path, lineage_window=lineage_window, **settings) as live:
            checkpointer = live.tessera.checkpointer
            assert checkpointer is not None
            restored = checkpointer.restored_from
            if restored is None:
                async with live.client() as client:
                    posted = await client.post("/api/v1/reports", json=docs(0))
                    assert posted.status_code in (200, 202), posted.text
                    assert await live.tessera.worker.wait_caught_up(
                        live.tessera.journal.last_seq, 30
                    )
            _, tracks = live.tessera.store.tracks("COP", TrackQuery())
            return restored, features(tracks)  # stopping saves a checkpoint

    first_restored, first_tracks = asyncio.run(run(200))
    assert first_restored is None
    # Another lineage window: the saved state does not fit, the journal is replayed whole.
    second_restored, second_tracks = asyncio.run(run(100))
    assert second_restored is None
    assert [f["id"] for f in second_tracks] == [f["id"] for f in first_tracks]
    # The same configuration again: the checkpoint saved on the last stop is used.
    third_restored, third_tracks = asyncio.run(run(100))
    assert third_restored is not None
    assert third_tracks == second_tracks
