"""History on the scale-out deployment: a gateway on the JetStream journal and PostGIS
answers ``GET /api/v1/tracks?at=`` and the stream's replay from the snapshots the fusion
worker (another process) writes to PostGIS and the journal's tail it reads from NATS; what
it answers for a time is the journal replayed from its beginning up to that time."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import websockets

from tessera.bus.memory import MemoryBus
from tessera.codecs.geojson import track_feature
from tessera.codecs.json import encode
from tessera.core.fusion.engine import FusionSettings, KalmanTracker
from tessera.core.labels import DEFAULT_PICTURE
from tessera.fusion_worker import FusionWorker
from tessera.journal.base import Journal, JournalEntry
from tessera.settings import Settings
from tessera.store.base import TrackQuery
from tessera.store.memory import MemoryTrackStore
from tests.cluster.processes import cluster, read_all
from tests.cluster.test_fusion_failover import UNITS, batch, until
from tests.history.recording import at_param, by_id
from tests.support import bearer

pytestmark = pytest.mark.slow
ROUNDS = 8


def rebuilt_at(
    journal: Journal, entries: list[JournalEntry], moment: datetime
) -> list[dict[str, Any]]:
    """The picture after every entry received at or before ``moment``, fused afresh."""
    settings = Settings()
    name = DEFAULT_PICTURE.name
    store = MemoryTrackStore([name])
    worker = FusionWorker(
        journal=journal,
        store=store,
        bus=MemoryBus([name], retained=10),
        pictures=(DEFAULT_PICTURE,),
        scheme=settings.scheme,
        tracker_factory=lambda _p: KalmanTracker(
            settings.scheme,
            FusionSettings(
                lineage_window=settings.lineage_window, batch_seconds=settings.fusion_batch_s
            ),
        ),
    )
    upto = [entry for entry in entries if entry.received_at <= moment]
    if upto:
        worker.apply(upto)
    _, tracks = store.tracks(name, TrackQuery())
    features: list[dict[str, Any]] = json.loads(encode([track_feature(t) for t in tracks]))
    return by_id(features)


async def replayed(url: str, token: str, at: str) -> list[dict[str, Any]]:
    """Every message of a replay from ``at`` at full speed, until it ends (bounded)."""
    received: list[dict[str, Any]] = []
    address = "ws" + url.removeprefix("http") + "/api/v1/stream"
    async with websockets.connect(
        address, max_size=None, additional_headers=bearer(token)
    ) as connection:
        await connection.send(json.dumps({"type": "subscribe", "at": at, "speed": 100_000}))
        for _ in range(10_000):
            message: dict[str, Any] = json.loads(await asyncio.wait_for(connection.recv(), 60))
            received.append(message)
            if message["type"] in ("replay_end", "error"):
                break
    return received


def test_a_gateway_seeks_and_replays_on_jetstream_and_postgis(
    tmp_path: Path, migrated: str
) -> None:
    async def scenario() -> None:
        async with cluster(
            tmp_path, migrated, extra="history_snapshot_interval_s = 0.2"
        ) as deployment:
            token = await deployment.token()
            worker, line = await deployment.start("fusion")
            assert line.startswith("fusion standby")
            assert (await deployment.line(worker)).startswith("fusion active")
            assert await deployment.line(worker) == "fusion caught up"
            _, url = await deployment.start("gateway")
            async with httpx.AsyncClient(base_url=url, headers=bearer(token), timeout=60) as client:
                for round_ in range(ROUNDS):
                    posted = await client.post("/api/v1/reports", json=batch(round_))
                    assert posted.status_code == 202, posted.text

                    # Each round fused and served before the next is sent: journal time
                    # moves on between rounds, past snapshot intervals.
                    async def moved(reached: int = round_) -> bool:
                        answer = await client.get("/api/v1/tracks")
                        lons = [f["geometry"]["coordinates"][0] for f in answer.json()["features"]]
                        return len(lons) == UNITS and min(lons) > 18.0 + (reached - 0.5) / 1000

                    await until(moved, timeout=120)
                async with await psycopg.AsyncConnection.connect(deployment.dsn) as conn:
                    row = await (
                        await conn.execute("SELECT count(*) FROM history_snapshots")
                    ).fetchone()
                assert row is not None and row[0] > 2, "the worker wrote snapshots"
                journal = deployment.journal()
                await journal.open()
                entries = await read_all(journal)
                reports = [entry for entry in entries if entry.report is not None]
                assert len(reports) == ROUNDS * UNITS
                first, last = reports[0].received_at, reports[-1].received_at
                rng = random.Random(4)
                moments = [entry.received_at for entry in rng.sample(reports, 4)]
                moments += [first + (last - first) * rng.random() for _ in range(4)]
                for moment in moments:
                    answer = await client.get("/api/v1/tracks", params={"at": at_param(moment)})
                    assert answer.status_code == 200, answer.text
                    assert by_id(answer.json()["features"]) == rebuilt_at(journal, entries, moment)
            # The stream's replay from the first round: its snapshot, then its changes
            # played to the journal's end, are the journal's picture then.
            start = reports[1].received_at
            snapshot, *rest = await replayed(url, token, at_param(start))
            assert snapshot["type"] == "snapshot", snapshot
            assert by_id(snapshot["features"]) == rebuilt_at(journal, entries, start)
            held = {feature["id"]: feature for feature in snapshot["features"]}
            assert rest and rest[-1]["type"] == "replay_end", rest[-1:]
            for message in rest:
                if message["type"] == "changes":
                    held.update((feature["id"], feature) for feature in message["upserts"])
                    for removed in message["removes"]:
                        held.pop(removed)
            end = datetime.fromisoformat(rest[-1]["at"])
            assert end >= last
            try:
                later = await read_all(journal)
            finally:
                await journal.close()
            assert by_id(list(held.values())) == rebuilt_at(journal, later, end)

    asyncio.run(scenario())
