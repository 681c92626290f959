"""The picture at a past time equals what the live picture showed then (issue 20): on the
embedded default (here) and on PostGIS (tests/postgis/test_history.py)."""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path
from typing import Any

from tests.history.recording import LiveRecording, at_param, by_id, post_over_time
from tests.support import Live, live_server


async def check_seeks(live: Live, recording: LiveRecording, *, seed: int) -> int:
    """Seek to 20 random past times through the API; how many were checked."""
    # Every queued snapshot written, so seeks start from them.
    history = live.tessera.history
    assert history is not None and history.snapshotter is not None
    await history.snapshotter.write_queued()
    assert await history.history.snapshots.count("COP") > 3
    checked = 0
    async with live.client() as client:
        for moment in recording.random_times(20, seed):
            answer = await client.get("/api/v1/tracks", params={"at": at_param(moment)})
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            assert body["at"] == at_param(moment) and body["seq"] is None
            assert by_id(body["features"]) == by_id(recording.at(moment, "COP")), moment
            checked += 1
    return checked


def test_the_picture_at_20_random_past_times_is_the_live_one(tmp_path: Path) -> None:
    async def scenario() -> None:
        # Snapshots every millisecond of journal time: each batch posted gets its own
        # however quick the machine, so seeks start from many.
        async with live_server(tmp_path, history_snapshot_interval_s=0.001) as live:
            recording = LiveRecording(live, ["COP"])
            await post_over_time(live, batches=30, size=20, seed=7)
            assert len(recording.times) > 20
            assert await check_seeks(live, recording, seed=3) == 20

    asyncio.run(scenario())


def test_a_bad_time_is_a_clear_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_server(tmp_path) as live, live.client() as client:
            for bad in ("yesterday", "2026-12-04T09:30:00", "2999-01-01T00:00:00Z"):
                answer = await client.get("/api/v1/tracks", params={"at": bad})
                assert answer.status_code == 400, bad
                assert answer.json()["parameter"] == "at"

    asyncio.run(scenario())


def test_trails_come_with_the_past_picture(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_server(tmp_path, history_snapshot_interval_s=0.001) as live:
            recording = LiveRecording(live, ["COP"])
            await post_over_time(live, batches=10, size=20, seed=8)
            moment = recording.times[-2]
            async with live.client() as client:
                answer = await client.get(
                    "/api/v1/tracks", params={"at": at_param(moment), "trail": "600"}
                )
                refused = await client.get(
                    "/api/v1/tracks", params={"at": at_param(moment), "trail": "9999"}
                )
            assert refused.status_code == 400 and refused.json()["parameter"] == "trail"
            body = answer.json()
            # The trail changes nothing of the picture itself.
            assert by_id(body["features"]) == by_id(recording.at(moment, "COP"))
            features = {feature["id"]: feature for feature in body["features"]}
            assert body["trails"] and set(body["trails"]) <= set(features)
            for track_id, trail in body["trails"].items():
                assert len(trail["coordinates"]) == len(trail["times"]) >= 1
                assert trail["times"] == sorted(trail["times"])
                last = features[track_id]["geometry"]["coordinates"][:2]
                assert trail["coordinates"][-1] == last

    asyncio.run(scenario())


def test_a_busy_journal_gets_snapshots_every_so_many_entries(tmp_path: Path) -> None:
    async def scenario() -> None:
        # An hour apart in time, but at most 40 entries apart: the entries decide.
        async with live_server(
            tmp_path, history_snapshot_interval_s=3_600, history_snapshot_entries=40
        ) as live:
            recording = LiveRecording(live, ["COP"])
            await post_over_time(live, batches=12, size=20, seed=13)
            assert await check_seeks(live, recording, seed=6) == 20
            history = live.tessera.history
            assert history is not None
            assert await history.history.snapshots.count("COP") >= 240 // 40 - 1
            # Kept compressed (zlib), and read back.
            fingerprint = history.history.fingerprint("COP")
            assert fingerprint.endswith("+zlib")
            kept = await history.history.snapshots.latest("COP", fingerprint, recording.times[-1])
            assert kept is not None and zlib.decompress(kept.body)

    asyncio.run(scenario())
