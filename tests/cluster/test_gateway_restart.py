"""Kill -9 a gateway and start it again while the fusion worker keeps publishing: the new
gateway follows the change feed from the seq its copy of the picture holds, so a client
connecting to it (fresh, or resuming with ``since``) gets its snapshot and then only
newer changes, in order, never the stream's older history; and the gateway's copy of the
picture ends equal to the worker's."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
import pytest
import websockets

from tessera.bus.base import Change
from tessera.bus.nats import NatsBus, encode_changes
from tessera.core.labels import DEFAULT_PICTURE
from tessera.journal.jetstream_codec import token
from tessera.store.base import TrackQuery
from tessera.store.postgis import PostgisTrackStore
from tests.cluster.processes import NATS_URL, Cluster, cluster
from tests.cluster.test_fusion_failover import until
from tests.support import bearer, report_doc

pytestmark = pytest.mark.slow
UNITS = 200
HISTORY_ROUNDS = 10
LIVE_ROUNDS = 20
WINDOW = "retained_changes = 500"
# The picture's older history, as a long-lived deployment's change stream holds it: a
# change a message (as a quiet picture's are), of tracks long gone. A gateway that read it
# all would still be reading it when its first clients subscribe.
OLD_CHANGES = 10_000
OLD_TRACKS = 50


async def seed_history(deployment: Cluster) -> None:
    """The stream's older history of the picture, and the stored picture where that
    history left it (every track of it gone, at seq ``OLD_CHANGES``)."""
    picture = DEFAULT_PICTURE.name
    upper = deployment.name.upper()
    prefix = f"{deployment.name}.changes"
    maker = NatsBus(NATS_URL, [picture], retained=1, stream=f"C_{upper}", prefix=prefix,
                    follow=False)  # fmt: skip
    await maker.open()  # the change stream, as the deployment makes it
    await maker.close()
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        subject = f"{prefix}.{token(picture)}"
        for first in range(1, OLD_CHANGES + 1, 500):
            payloads = [
                encode_changes([Change(seq, f"old-{seq % OLD_TRACKS}", None, None)], 1 << 20)
                for seq in range(first, min(first + 500, OLD_CHANGES + 1))
            ]
            await asyncio.gather(*(js.publish(subject, p[0][0]) for p in payloads))
    finally:
        await nc.close()
    async with await psycopg.AsyncConnection.connect(deployment.dsn) as conn:
        await conn.execute(
            "INSERT INTO pictures (name, seq) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET seq = EXCLUDED.seq",
            (picture, OLD_CHANGES),
        )


def moves(round_: int) -> list[dict[str, Any]]:
    return [
        report_doc(
            report_id=f"r{round_}-{unit}",
            subject=f"unit-{unit}",
            source=f"unit-{unit}",
            kind="unit",
            identity="friend",
            lat=50.0 + unit / 200,
            lon=10.0 + round_ / 1000,
        )
        for unit in range(UNITS)
    ]


@dataclass
class Watch:
    """One stream connection: where it starts (its snapshot's seq, or its since), and the
    seq of every changes message after it."""

    since: int | None = None
    start: int | None = None
    snapshots: int = 0
    seqs: list[int] = field(default_factory=list)
    features: dict[str, Any] = field(default_factory=dict)

    @property
    def last(self) -> int:
        return self.seqs[-1] if self.seqs else (self.start or 0)

    def take(self, message: dict[str, Any]) -> None:
        if message["type"] == "snapshot":
            assert self.start is None, "a second snapshot on one connection"
            self.snapshots += 1
            self.start = message["seq"]
            self.features = {f["id"]: f for f in message["features"]}
        elif message["type"] == "changes":
            if self.start is None:  # resumed: no snapshot
                assert self.since is not None, "changes before any snapshot"
                self.start = self.since
            self.seqs.append(message["seq"])
            for feature in message["upserts"]:
                self.features[feature["id"]] = feature
            for track_id in message["removes"]:
                self.features.pop(track_id, None)


async def watch(url: str, secret: str, watched: Watch, ready: asyncio.Event) -> None:
    subscribe: dict[str, Any] = {"type": "subscribe"}
    if watched.since is not None:
        subscribe["since"] = watched.since
    ws = url.replace("http://", "ws://") + "/api/v1/stream"
    with contextlib.suppress(websockets.ConnectionClosed, OSError):
        async with websockets.connect(ws, additional_headers=bearer(secret), max_size=None) as c:
            await c.send(json.dumps(subscribe))
            ready.set()
            async for raw in c:
                watched.take(json.loads(raw))


async def stored_picture(deployment: Cluster) -> tuple[int, dict[str, list[float]]]:
    stored = PostgisTrackStore(deployment.dsn, [DEFAULT_PICTURE.name], writer=False)
    await stored.open()
    try:
        seq, tracks = stored.tracks(DEFAULT_PICTURE.name, TrackQuery())
    finally:
        await stored.close()
    return seq, {track.id: [track.position.lon, track.position.lat] for track in tracks}


async def delivered_counts(deployment: Cluster) -> list[int]:
    """How many messages each follower of the change stream was delivered."""
    nc = await nats.connect(NATS_URL)
    try:
        found = await nc.jetstream().consumers_info(f"C_{deployment.name.upper()}")
    finally:
        await nc.close()
    return [info.delivered.consumer_seq or 0 for info in found if info.delivered]


def positions(features: Any) -> dict[str, list[float]]:
    return {f["id"]: f["geometry"]["coordinates"][:2] for f in features}


def test_a_restarted_gateway_sends_no_client_anything_older_than_it_holds(
    tmp_path: Path, migrated: str
) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, migrated, extra=WINDOW) as deployment:
            admin = await deployment.token()
            await seed_history(deployment)
            worker, _ = await deployment.start("fusion")
            assert (await deployment.line(worker)).startswith("fusion active")
            _, ingest_url = await deployment.start("gateway")
            doomed, doomed_url = await deployment.start("gateway")
            async with httpx.AsyncClient(
                base_url=ingest_url, headers=bearer(admin), timeout=60
            ) as ingest:

                async def post(round_: int) -> None:
                    answer = await ingest.post("/api/v1/reports", json=moves(round_))
                    assert answer.status_code == 202, answer.text

                for round_ in range(HISTORY_ROUNDS):
                    await post(round_)
                before = Watch()
                ready = asyncio.Event()
                tasks = [asyncio.create_task(watch(doomed_url, admin, before, ready))]
                await asyncio.wait_for(ready.wait(), 30)
                await post(HISTORY_ROUNDS)
                await until(lambda: _at_least(before, 1))
                doomed.send_signal(signal.SIGKILL)
                await doomed.wait()
                # The worker keeps publishing while the gateway comes back.
                live = asyncio.create_task(_post_rounds(post, HISTORY_ROUNDS + 1, LIVE_ROUNDS))
                _, url = await deployment.start("gateway")
                fresh, resumed = Watch(), Watch(since=before.last)
                for watched in (fresh, resumed):
                    ready = asyncio.Event()
                    tasks.append(asyncio.create_task(watch(url, admin, watched, ready)))
                    await asyncio.wait_for(ready.wait(), 30)
                await live
                async with httpx.AsyncClient(base_url=url, headers=bearer(admin)) as gateway:

                    async def settled() -> bool:
                        shown = (await gateway.get("/api/v1/tracks")).json()
                        seq, stored = await stored_picture(deployment)
                        return bool(
                            shown["seq"] == seq
                            and positions(shown["features"]) == stored
                            and all(w.last >= seq for w in (fresh, resumed))
                        )

                    await until(settled)
                    shown = (await gateway.get("/api/v1/tracks")).json()
            # No gateway read the history before its window: each followed the stream from
            # the seq its copy held.
            assert 0 < max(await delivered_counts(deployment)) < OLD_CHANGES
            for task in tasks:
                task.cancel()
            for watched in (before, fresh, resumed):
                assert watched.start is not None
                assert all(seq > watched.start for seq in watched.seqs), watched.start
                assert watched.seqs == sorted(set(watched.seqs))
            assert fresh.snapshots == 1
            # A client's picture from its snapshot on is the gateway's, which is the worker's.
            assert positions(fresh.features.values()) == positions(shown["features"])
            if resumed.snapshots:
                assert positions(resumed.features.values()) == positions(shown["features"])

    asyncio.run(scenario())


async def _at_least(watched: Watch, changes: int) -> bool:
    return len(watched.seqs) >= changes


async def _post_rounds(post: Any, first: int, count: int) -> None:
    for round_ in range(first, first + count):
        await post(round_)
