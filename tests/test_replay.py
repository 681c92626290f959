"""Replaying the journal rebuilds the same picture: restart a server on its data folder."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from tessera.app import build
from tessera.codecs.geojson import track_feature
from tessera.codecs.json import encode
from tessera.journal.sqlite import SqliteJournal
from tessera.settings import load_settings
from tessera.store.base import TrackQuery
from tests.support import live_server, report_doc


def mixed_reports(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(minutes=5)
    docs = []
    for i in range(count):
        when = start + timedelta(seconds=i * 0.5)
        if i % 3 == 0:
            unit = rng.randrange(20)
            docs.append(
                report_doc(
                    subject=f"unit-{unit}",
                    source=f"unit-{unit}",
                    kind="unit",
                    identity="friend",
                    lat=53 + unit * 0.01 + rng.gauss(0, 1e-4),
                    lon=16 + rng.gauss(0, 1e-4),
                    observed_at=when,
                )
            )
        else:
            target = rng.randrange(15)
            docs.append(
                report_doc(
                    lat=53.5 + target * 0.02 + rng.gauss(0, 3e-4),
                    lon=17 + i * 1e-5 + rng.gauss(0, 3e-4),
                    identity=rng.choice(["hostile", "suspect", "unknown"]),
                    grading=rng.choice(["B2", "C3", "E5", "F6"]),
                    observed_at=when,
                )
            )
    return docs


async def replay(data: Path, position: int, chunk: int) -> list[dict[str, Any]]:
    """Feed the journal up to ``position`` to a fresh fusion worker, ``chunk`` entries at
    a time, and return its picture as the API would show it."""
    settings = load_settings(data_dir=data)
    tessera = build(settings)
    journal = SqliteJournal(data / "journal.sqlite3", clock=lambda: datetime.now(UTC))
    await journal.open()
    try:
        entries = await journal.read(0, position)
    finally:
        await journal.close()
    assert entries[-1].seq == position
    for start in range(0, len(entries), chunk):
        part = entries[start : start + chunk]
        following = entries[start + chunk] if start + chunk < len(entries) else None
        # As the worker reads: a cut inside one commit (one received time) is not complete.
        whole = following is None or following.received_at > part[-1].received_at
        tessera.worker.apply(part, complete=whole)
    _, tracks = tessera.store.tracks("COP", TrackQuery())
    features: list[dict[str, Any]] = msgspec.json.decode(
        encode([track_feature(track) for track in tracks])
    )
    return features


def by_id(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(features, key=lambda feature: str(feature["id"]))


def test_replaying_the_journal_rebuilds_the_same_picture(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            live_server(tmp_path) as live,
            live.client() as client,
        ):
            docs = mixed_reports(seed=4, count=600)
            for start in range(0, len(docs), 37):
                response = await client.post("/api/v1/reports", json=docs[start : start + 37])
                assert response.status_code == 202
            await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 10)
            # Read the picture and the position it reflects with no await in between.
            _, tracks = live.tessera.store.tracks("COP", TrackQuery())
            position = live.tessera.worker.position
            live_picture: list[dict[str, Any]] = msgspec.json.decode(
                encode([track_feature(track) for track in tracks])
            )
        assert len(live_picture) > 10
        for chunk in (1, 13, 100_000):
            replayed = await replay(tmp_path, position, chunk)
            assert by_id(replayed) == by_id(live_picture), f"chunk {chunk}"

    asyncio.run(scenario())


def test_restart_serves_the_picture_again(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            live_server(tmp_path) as live,
            live.client() as client,
        ):
            response = await client.post("/api/v1/reports", json=mixed_reports(seed=1, count=60))
            assert response.status_code == 202
        async with (
            live_server(tmp_path) as again,
            again.client() as client,
        ):
            body = (await client.get("/api/v1/tracks")).json()
            assert body["count"] > 0
            assert again.tessera.worker.position >= 60

    asyncio.run(scenario())
