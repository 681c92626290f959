"""Kill -9 the active fusion worker: the standby takes over through the lease, and the
picture afterwards equals the picture rebuilt from the journal. A gateway serves the
whole time, its copy of the picture following the change feed."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
import pytest

from tessera.bus.memory import MemoryBus
from tessera.codecs.geojson import track_feature
from tessera.codecs.json import encode
from tessera.core.fusion.engine import FusionSettings, KalmanTracker
from tessera.core.labels import DEFAULT_PICTURE, Picture
from tessera.fusion_worker import FusionWorker
from tessera.journal import jetstream_codec as codec
from tessera.journal.jetstream_cursor import consumer_name
from tessera.settings import Settings
from tessera.store.base import TrackQuery
from tessera.store.memory import MemoryTrackStore
from tessera.store.postgis import PostgisTrackStore
from tests.cluster.processes import NATS_URL, Cluster, cluster
from tests.support import bearer, report_doc

pytestmark = pytest.mark.slow
UNITS = 6
CHECKPOINT_POSITION = "SELECT journal_seq FROM fusion_checkpoints WHERE picture = %s"
RESUMED = re.compile(
    r"fusion resumed at journal entry (?P<checkpoint>\d+) \(journal cursor at (?P<cursor>\d+)\)"
)


def batch(round_: int) -> list[dict[str, Any]]:
    return [
        report_doc(
            report_id=f"r{round_}-{unit}",
            subject=f"unit-{unit}",
            source=f"unit-{unit}",
            kind="unit",
            identity="friend",
            lat=53.0 + unit / 50,
            lon=18.0 + round_ / 1000,
        )
        for unit in range(UNITS)
    ]


async def tracks_at(client: httpx.AsyncClient) -> set[str]:
    answer = await client.get("/api/v1/tracks")
    assert answer.status_code == 200, answer.text
    return {feature["id"] for feature in answer.json()["features"]}


async def until(predicate: Any, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.2)


def test_the_standby_takes_over_and_the_picture_is_the_journals(
    tmp_path: Path, migrated: str
) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, migrated) as deployment:
            token = await deployment.token()
            first, line = await deployment.start("fusion")
            assert line.startswith("fusion standby")
            assert (await deployment.line(first)).startswith("fusion active")
            assert await deployment.line(first) == "fusion caught up"
            second, line = await deployment.start("fusion")
            assert line.startswith("fusion standby")
            _, url = await deployment.start("gateway")
            # Each round's ids as readers see them, by unit.
            accepted: list[list[str]] = []
            async with httpx.AsyncClient(base_url=url, headers=bearer(token), timeout=30) as client:
                for round_ in range(3):
                    posted = await client.post("/api/v1/reports", json=batch(round_))
                    assert posted.status_code == 202, posted.text
                    accepted.append(posted.json()["accepted"])

                async def all_units() -> bool:
                    return len(await tracks_at(client)) == UNITS

                await until(all_units)
                # Let the active worker save a checkpoint (every 0.5 s here) before it dies.
                await asyncio.sleep(1.5)
                first.send_signal(signal.SIGKILL)
                await first.wait()
                assert (await deployment.line(second)).startswith("fusion active")
                # The standby starts from the dead worker's checkpoint and the journal's
                # tail; JetStream's consumer for the picture had been acknowledged up to a
                # checkpoint, never past the one resumed from.
                resumed = RESUMED.fullmatch(await deployment.line(second))
                assert resumed is not None
                checkpoint, cursor = int(resumed["checkpoint"]), int(resumed["cursor"])
                assert 0 < cursor <= checkpoint
                assert await deployment.line(second) == "fusion caught up"
                for round_ in range(3, 6):
                    posted = await client.post("/api/v1/reports", json=batch(round_))
                    assert posted.status_code == 202, posted.text
                    accepted.append(posted.json()["accepted"])

                async def moved() -> bool:
                    answer = await client.get("/api/v1/tracks")
                    lons = [f["geometry"]["coordinates"][0] for f in answer.json()["features"]]
                    return len(lons) == UNITS and min(lons) > 18.0045

                await until(moved)

                # A gateway keeps no lineage in memory: a track's detail reads it from
                # PostGIS, every report of the unit, newest first.
                async def whole_lineage() -> bool:
                    listed = (await client.get("/api/v1/tracks")).json()["features"]
                    unit = next(f for f in listed if f["properties"]["subject"] == "unit-0")
                    detail = (await client.get(f"/api/v1/tracks/{unit['id']}")).json()
                    shown = [report["id"] for report in detail["lineage"]["reports"]]
                    return shown == [accepted[round_][0] for round_ in reversed(range(6))]

                await until(whole_lineage)
            # Stop the worker cleanly (its store is flushed), then compare.
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 30) == 0
            await assert_picture_is_the_journals(deployment)
            # Stopping saved a last checkpoint and moved the consumer to it.
            assert await cursor_position(deployment) == await checkpoint_position(deployment)
            # The standby took over the report archive too: every report in it once.
            async with await psycopg.AsyncConnection.connect(deployment.dsn) as conn:
                found = await (await conn.execute("SELECT id FROM reports")).fetchall()
            assert sorted(str(row[0]) for row in found) == sorted(
                key for keys in accepted for key in keys
            )

    asyncio.run(scenario())


async def assert_picture_is_the_journals(
    deployment: Cluster, picture: Picture = DEFAULT_PICTURE
) -> None:
    stored = PostgisTrackStore(deployment.dsn, [picture.name], writer=False)
    await stored.open()
    try:
        upto = stored.journal_seq(picture.name)
        _, kept = stored.tracks(picture.name, TrackQuery())
    finally:
        await stored.close()
    journal = deployment.journal()
    await journal.open()
    try:
        entries = await journal.read(0, upto)
    finally:
        await journal.close()
    assert entries and entries[-1].seq == upto
    settings = Settings()
    rebuilt = MemoryTrackStore([picture.name])
    worker = FusionWorker(
        journal=journal,
        store=rebuilt,
        bus=MemoryBus([picture.name], retained=10),
        pictures=(picture,),
        scheme=settings.scheme,
        tracker_factory=lambda _p: KalmanTracker(
            settings.scheme,
            FusionSettings(
                lineage_window=settings.lineage_window, batch_seconds=settings.fusion_batch_s
            ),
        ),
    )
    worker.apply(entries)
    _, expected = rebuilt.tracks(picture.name, TrackQuery())
    assert len(expected) == UNITS
    assert _features(kept) == _features(expected)


async def checkpoint_position(deployment: Cluster, picture: str = DEFAULT_PICTURE.name) -> int:
    async with await psycopg.AsyncConnection.connect(deployment.dsn) as conn:
        row = await (await conn.execute(CHECKPOINT_POSITION, (picture,))).fetchone()
    assert row is not None
    return int(row[0])


async def cursor_position(deployment: Cluster, pictures: list[str] | None = None) -> int:
    upper = deployment.name.upper()
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        name = consumer_name(pictures or [DEFAULT_PICTURE.name])
        info = await js.consumer_info(f"J_{upper}", name)
        assert info.ack_floor is not None
        msg = await js.get_msg(f"J_{upper}", seq=info.ack_floor.stream_seq)
        return codec.head_of(info.ack_floor.stream_seq, msg.headers).next_seq - 1
    finally:
        await nc.close()


def _features(tracks: list[Any]) -> list[Any]:
    return sorted((json.loads(encode(track_feature(t))) for t in tracks), key=lambda f: f["id"])
