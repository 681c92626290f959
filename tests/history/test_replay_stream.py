"""The stream's replay: subscribing with ``at`` and a ``speed`` gives the picture then, and
then changes played forward; after each message the client holds what the live picture
showed at the time the message gives."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import websockets

from tests.history.recording import LiveRecording, at_param, by_id, post_over_time
from tests.support import Live, live_server


async def messages(live: Live, **subscription: Any) -> list[dict[str, Any]]:
    """Every message of a replay, until it ends (bounded)."""
    received: list[dict[str, Any]] = []
    async with websockets.connect(
        live.ws_url, max_size=None, additional_headers=live.headers
    ) as connection:
        await connection.send(json.dumps({"type": "subscribe", **subscription}))
        for _ in range(10_000):
            message: dict[str, Any] = json.loads(await asyncio.wait_for(connection.recv(), 30))
            received.append(message)
            if message["type"] in ("replay_end", "error"):
                break
    return received


def test_a_replay_shows_what_the_live_picture_showed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_server(tmp_path, history_snapshot_interval_s=0.3) as live:
            recording = LiveRecording(live, ["COP"])
            await post_over_time(live, batches=20, size=20, seed=9)
            start, posted_end = recording.times[3], recording.times[-1]
            replayed = await messages(live, at=at_param(start), speed=50.0)
            snapshot, *rest = replayed
            assert snapshot["type"] == "snapshot" and snapshot["seq"] is None
            held = {feature["id"]: feature for feature in snapshot["features"]}
            assert by_id(list(held.values())) == by_id(recording.at(start, "COP"))
            assert rest[-1]["type"] == "replay_end"
            compared = 0
            for message in rest:
                if message["type"] != "changes":
                    assert message["type"] in ("clock", "replay_end"), message
                    continue
                for feature in message["upserts"]:
                    held[feature["id"]] = feature
                for removed in message["removes"]:
                    held.pop(removed)
                moment = datetime.fromisoformat(message["at"])
                assert by_id(list(held.values())) == by_id(recording.at(moment, "COP"))
                compared += 1
            assert compared > 0
            # Played to the journal's end.
            end = datetime.fromisoformat(rest[-1]["at"])
            assert end >= posted_end
            assert by_id(list(held.values())) == by_id(recording.at(end, "COP"))

    asyncio.run(scenario())


def test_a_bad_replay_is_refused_clearly(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_server(tmp_path) as live:
            for subscription, words in (
                ({"at": "soon"}, "ISO 8601"),
                ({"at": "2020-01-01T00:00:00Z", "speed": 0}, "speed"),
                ({"at": "2020-01-01T00:00:00Z", "speed": -3}, "speed"),
            ):
                (refusal,) = await messages(live, **subscription)
                assert refusal["type"] == "error" and words in refusal["reason"]

    asyncio.run(scenario())
