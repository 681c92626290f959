"""Kill -9 a gateway during ingest and streaming: every acknowledged report is in the
journal exactly once (retried batches de-duplicated end to end), and a stream client that
moved to the other gateway with ``since`` missed nothing."""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import websockets

from tests.cluster.processes import Cluster, cluster
from tests.cluster.test_fusion_failover import UNITS, batch, until
from tests.support import bearer

pytestmark = pytest.mark.slow
ROUNDS = 12
KILL_AFTER = 4


class StreamClient:
    """A map's view of the picture: a snapshot, then changes; on losing its gateway it
    resumes on another with ``since``."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.features: dict[str, Any] = {}
        self.seq = -1
        self.resumed_with_since = False

    async def follow(self, urls: list[str]) -> None:
        for index, url in enumerate(urls):
            ws = url.replace("http://", "ws://") + "/api/v1/stream"
            subscribe: dict[str, Any] = {"type": "subscribe"}
            if index:
                subscribe["since"] = self.seq
            try:
                async with websockets.connect(
                    ws, additional_headers=bearer(self.token), max_size=None
                ) as connection:
                    await connection.send(json.dumps(subscribe))
                    async for raw in connection:
                        self.take(json.loads(raw), resumed=bool(index))
            except (websockets.ConnectionClosed, OSError):
                continue

    def take(self, message: dict[str, Any], *, resumed: bool) -> None:
        if message["type"] == "snapshot":
            assert not resumed, "the other gateway answered since with a fresh snapshot"
            self.features = {f["id"]: f for f in message["features"]}
        elif message["type"] == "changes":
            self.resumed_with_since |= resumed
            for feature in message["upserts"]:
                self.features[feature["id"]] = feature
            for track_id in message["removes"]:
                self.features.pop(track_id, None)
        else:
            return
        self.seq = message["seq"]


def test_a_lost_gateway_loses_nothing_acknowledged_and_its_clients_miss_nothing(
    tmp_path: Path, migrated: str
) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, migrated) as deployment:
            token = await deployment.token()
            worker, _ = await deployment.start("fusion")
            assert (await deployment.line(worker)).startswith("fusion active")
            doomed, url_a = await deployment.start("gateway")
            _, url_b = await deployment.start("gateway")
            viewer = StreamClient(token)
            following = asyncio.create_task(viewer.follow([url_a, url_b]))
            acked: list[str] = []
            async with (
                httpx.AsyncClient(base_url=url_a, headers=bearer(token), timeout=10) as a,
                httpx.AsyncClient(base_url=url_b, headers=bearer(token), timeout=30) as b,
            ):
                for round_ in range(ROUNDS):
                    docs = batch(round_)
                    client = a if doomed.returncode is None else b
                    answer = await client.post("/api/v1/reports", json=docs)
                    assert answer.status_code == 202, answer.text
                    acked.extend(answer.json()["accepted"])
                    if round_ == KILL_AFTER:
                        # Mid-stream and mid-ingest: the next batch is on its way to the
                        # gateway when it dies. Stored or not, its client gets no answer
                        # and sends it again to the other gateway (the next round).
                        posting = asyncio.create_task(
                            a.post("/api/v1/reports", json=batch(round_ + 1))
                        )
                        await asyncio.sleep(0.005)
                        doomed.send_signal(signal.SIGKILL)
                        await doomed.wait()
                        await asyncio.gather(posting, return_exceptions=True)

                async def settled() -> bool:
                    answer = await b.get("/api/v1/tracks")
                    lons = [f["geometry"]["coordinates"][0] for f in answer.json()["features"]]
                    return len(lons) == UNITS and min(lons) > 18.0 + (ROUNDS - 1.5) / 1000

                await until(settled)
                shown = (await b.get("/api/v1/tracks")).json()

                async def caught_up() -> bool:
                    return bool(viewer.seq >= shown["seq"])

                await until(caught_up)
            following.cancel()
            assert viewer.resumed_with_since
            # The viewer's picture is the gateway's: positions of every track.
            assert _positions(viewer.features.values()) == _positions(shown["features"])
            counts = await _journal_ids(deployment)
            assert all(counts[report_id] == 1 for report_id in acked)
            assert max(counts.values()) == 1
            assert len(set(acked)) == ROUNDS * UNITS
            # And in the store: the PostGIS archive holds each of them once.
            await until(lambda: _archived_up_to(deployment, sum(counts.values())))
            archived = await _archived_ids(deployment)
            assert all(archived[report_id] == 1 for report_id in acked)
            assert sorted(archived) == sorted(counts)

    asyncio.run(scenario())


def _positions(features: Any) -> dict[str, list[float]]:
    return {f["id"]: f["geometry"]["coordinates"] for f in features}


async def _journal_ids(deployment: Cluster) -> Counter[str]:
    entries = await deployment.journal_entries()
    return Counter(entry.report.id for entry in entries if entry.report is not None)


async def _archived_up_to(deployment: Cluster, reports: int) -> bool:
    async with await psycopg.AsyncConnection.connect(deployment.dsn) as conn:
        row = await (await conn.execute("SELECT count(*) FROM reports")).fetchone()
    return row is not None and int(row[0]) >= reports


async def _archived_ids(deployment: Cluster) -> Counter[str]:
    async with await psycopg.AsyncConnection.connect(deployment.dsn) as conn:
        found = await (await conn.execute("SELECT id FROM reports")).fetchall()
    return Counter(str(report_id) for (report_id,) in found)
