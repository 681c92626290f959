"""SIGSTOP the active fusion worker past the lease, let the standby take over, SIGCONT the
old one: it stops (exit status 3) and nothing it writes under its old epoch lands, not in
PostGIS, not on the journal's cursor, not on the change feed; clients on both gateways
see change seqs only rising; the picture on both gateways is the journal's (DESIGN §10)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
import pytest
import websockets

from tessera.bus.nats_epochs import EPOCH_HEADER, MARKER_HEADER
from tessera.cluster.fence import ARCHIVE_FENCE
from tessera.core.labels import DEFAULT_PICTURE
from tessera.journal.jetstream_codec import token as subject_token
from tests.cluster.processes import NATS_URL, Cluster, cluster
from tests.cluster.test_fusion_failover import (
    UNITS,
    assert_picture_is_the_journals,
    batch,
    checkpoint_position,
    cursor_position,
    until,
)
from tests.support import bearer

pytestmark = pytest.mark.slow
COP = DEFAULT_PICTURE.name
# Ingest: a batch every INGEST_PAUSE_S, MAX_ROUNDS at most.
INGEST_PAUSE_S = 0.1
MAX_ROUNDS = 600
STOPPED_FOR_S = 6.0  # twice the test deployment's lease_ttl_s


class ChangeWatcher:
    """A WebSocket client of one gateway: the seq of each message of changes it gets."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.replace("http://", "ws://") + "/api/v1/stream"
        self.token = token
        self.seqs: list[int] = []
        self.features: dict[str, Any] = {}

    async def follow(self) -> None:
        async with websockets.connect(
            self.url, additional_headers=bearer(self.token), max_size=None
        ) as connection:
            await connection.send(json.dumps({"type": "subscribe"}))
            async for raw in connection:
                message = json.loads(raw)
                if message["type"] == "snapshot":
                    self.features = {f["id"]: f for f in message["features"]}
                elif message["type"] == "changes":
                    self.seqs.append(message["seq"])
                    for feature in message["upserts"]:
                        self.features[feature["id"]] = feature
                    for track_id in message["removes"]:
                        self.features.pop(track_id, None)


class Ingest:
    """Batches posted to the gateways in turn until stopped (bounded in count)."""

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self.clients = clients
        self.rounds = 0
        self.accepted: list[str] = []
        self.stopped = asyncio.Event()

    async def run(self) -> None:
        while self.rounds < MAX_ROUNDS and not self.stopped.is_set():
            client = self.clients[self.rounds % len(self.clients)]
            posted = await client.post("/api/v1/reports", json=batch(self.rounds))
            assert posted.status_code == 202, posted.text
            self.accepted.extend(posted.json()["accepted"])
            self.rounds += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopped.wait(), INGEST_PAUSE_S)


# Every write of a row that carries a writer's epoch, with the fence's epoch at that
# moment: a write of an older epoch than its fence's is one that landed after a takeover.
RECORD_WRITES = """
CREATE TABLE written_epochs (kind text, name text, epoch bigint, fence bigint);
CREATE FUNCTION record_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    fenced text := COALESCE(to_jsonb(NEW)->>'name', to_jsonb(NEW)->>'picture', %s);
BEGIN
    INSERT INTO written_epochs
        SELECT TG_TABLE_NAME, fenced, NEW.epoch,
               (SELECT epoch FROM fusion_fences WHERE name = fenced);
    RETURN NEW;
END
$$;
CREATE TRIGGER record_epoch BEFORE INSERT OR UPDATE ON pictures
    FOR EACH ROW EXECUTE FUNCTION record_epoch();
CREATE TRIGGER record_epoch BEFORE INSERT OR UPDATE ON fusion_checkpoints
    FOR EACH ROW EXECUTE FUNCTION record_epoch();
CREATE TRIGGER record_epoch BEFORE INSERT OR UPDATE ON report_archive
    FOR EACH ROW EXECUTE FUNCTION record_epoch();
"""


async def sql(deployment: Cluster, query: str) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(deployment.dsn) as conn:
        return list(await (await conn.execute(query)).fetchall())


async def fence_epoch(deployment: Cluster, name: str) -> int:
    rows = await sql(deployment, f"SELECT epoch FROM fusion_fences WHERE name = '{name}'")
    return int(rows[0][0]) if rows else 0


async def line_starting(deployment: Cluster, process: Any, prefix: str) -> str:
    while not (line := await deployment.line(process)).startswith(prefix):
        pass
    return line


async def feed_epochs(deployment: Cluster) -> list[tuple[int, bool]]:
    """The epoch of every message on the picture's change subject, in stream order, and
    whether it is a marker."""
    stream = f"C_{deployment.name.upper()}"
    subject = f"{deployment.name}.changes.{subject_token(COP)}"
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        found: list[tuple[int, bool]] = []
        seq = info.state.first_seq
        while seq <= info.state.last_seq:
            msg = await js.get_msg(stream, seq=seq, subject=subject, next=True)
            headers = msg.headers or {}
            found.append((int(headers.get(EPOCH_HEADER, 0)), MARKER_HEADER in headers))
            seq = (msg.seq or seq) + 1
        return found
    finally:
        await nc.close()


def test_a_worker_resumed_after_its_successor_took_over_writes_nothing(
    tmp_path: Path, migrated: str
) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, migrated) as deployment:
            token = await deployment.token()
            async with await psycopg.AsyncConnection.connect(migrated, autocommit=True) as conn:
                quoted = "'" + ARCHIVE_FENCE + "'"
                await conn.execute(RECORD_WRITES.replace("%s", quoted).encode())
            old, _ = await deployment.start("fusion")
            await line_starting(deployment, old, "fusion caught up")
            new, line = await deployment.start("fusion")
            assert line.startswith("fusion standby")
            urls = [(await deployment.start("gateway"))[1] for _ in range(2)]
            watchers = [ChangeWatcher(url, token) for url in urls]
            following = [asyncio.create_task(w.follow()) for w in watchers]
            async with contextlib.AsyncExitStack() as stack:
                clients = [
                    await stack.enter_async_context(
                        httpx.AsyncClient(base_url=url, headers=bearer(token), timeout=30)
                    )
                    for url in urls
                ]
                ingest = Ingest(clients)
                ingesting = asyncio.create_task(ingest.run())

                async def seen() -> bool:
                    return all(len(w.seqs) >= 5 for w in watchers)

                await until(seen)
                old_epoch = await fence_epoch(deployment, COP)
                old.send_signal(signal.SIGSTOP)
                try:
                    await asyncio.wait_for(
                        line_starting(deployment, new, "fusion caught up"), STOPPED_FOR_S * 10
                    )
                    new_epoch = await fence_epoch(deployment, COP)
                    assert new_epoch > old_epoch > 0
                    # Let the new worker fuse, checkpoint and publish for a while.
                    await asyncio.sleep(STOPPED_FOR_S)
                finally:
                    old.send_signal(signal.SIGCONT)
                assert await asyncio.wait_for(old.wait(), 60) == 3
                # The new worker still runs, fused everything since, and owns every row.
                assert new.returncode is None
                await asyncio.sleep(1.0)
                ingest.stopped.set()
                await ingesting

                async def everything_fused() -> bool:
                    answers = [(await c.get("/api/v1/tracks")).json() for c in clients]
                    lons = [
                        min(f["geometry"]["coordinates"][0] for f in a["features"]) for a in answers
                    ]
                    last = 18.0 + (ingest.rounds - 1.5) / 1000
                    return all(len(a["features"]) == UNITS for a in answers) and min(lons) > last

                await until(everything_fused)
                shown = [(await c.get("/api/v1/tracks")).json() for c in clients]

                async def watchers_caught_up() -> bool:
                    return all(
                        w.seqs and w.seqs[-1] >= s["seq"]
                        for w, s in zip(watchers, shown, strict=True)
                    )

                await until(watchers_caught_up)
            for task in following:
                task.cancel()
            await asyncio.gather(*following, return_exceptions=True)

            # Clients: seqs only rising, on both gateways; and their picture is the
            # gateway's, the same on both.
            for watcher in watchers:
                assert watcher.seqs == sorted(set(watcher.seqs)), watcher.seqs
            assert _positions(shown[0]["features"]) == _positions(shown[1]["features"])
            for watcher, answer in zip(watchers, shown, strict=True):
                assert _positions(watcher.features.values()) == _positions(answer["features"])
            # The change feed: after the new epoch's marker, nothing of the old epoch.
            epochs = await feed_epochs(deployment)
            first_new = epochs.index((new_epoch, True))
            assert all(epoch == new_epoch for epoch, _ in epochs[first_new:])
            assert all(epoch <= old_epoch for epoch, _ in epochs[:first_new])
            # The cursor: acknowledged by the new worker, up to its checkpoint at most.
            assert await cursor_position(deployment) <= await checkpoint_position(deployment)

            new.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(new.wait(), 30) == 0
            # PostGIS: no write of an older epoch than its fence's ever landed, and every
            # fence, row and checkpoint is the new epoch's.
            stale = "SELECT * FROM written_epochs WHERE epoch > 0 AND epoch <> fence"
            assert await sql(deployment, stale) == []
            written = await sql(deployment, "SELECT DISTINCT epoch FROM written_epochs")
            assert {row[0] for row in written} >= {old_epoch, new_epoch}
            assert await fence_epoch(deployment, COP) == new_epoch
            assert await sql(deployment, "SELECT epoch FROM pictures") == [(new_epoch,)]
            rows = await sql(deployment, "SELECT epoch FROM fusion_checkpoints")
            assert rows == [(new_epoch,)]
            archive_epoch = await fence_epoch(deployment, ARCHIVE_FENCE)
            assert await sql(deployment, "SELECT epoch FROM report_archive") == [(archive_epoch,)]
            assert archive_epoch > old_epoch
            archived = await sql(deployment, "SELECT id FROM reports")
            assert sorted(str(r[0]) for r in archived) == sorted(ingest.accepted)
            await assert_picture_is_the_journals(deployment)
            # The stopped worker's last checkpoint never replaced its successor's.
            assert await cursor_position(deployment) == await checkpoint_position(deployment)

    asyncio.run(scenario())


def _positions(features: Any) -> dict[str, list[float]]:
    return {f["id"]: f["geometry"]["coordinates"] for f in features}
