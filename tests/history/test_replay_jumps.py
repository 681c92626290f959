"""A replay that shows pictures at times jumps to a later snapshot instead of fusing the
journal up to it: after each move, the picture it holds (its changes applied in turn) is
the one the live picture showed then, tracks and overlays alike."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec

from tessera.bus.base import Change
from tests.history.past_overlays import OverlayRecording, draw_move_and_erase
from tests.history.recording import LiveRecording, by_id
from tests.support import live_server


def apply(held: dict[str, dict[str, Any]], change: Change) -> None:
    if change.feature is None:
        held.pop(change.item_id, None)
    else:
        held[change.item_id] = msgspec.json.decode(change.feature)


def test_a_replay_jumping_over_snapshots_shows_the_live_pictures(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_server(
            tmp_path, history_snapshot_interval_s=3_600, history_snapshot_entries=20
        ) as live:
            tracks = LiveRecording(live, ["COP"])
            overlays = OverlayRecording(live, "COP")
            await draw_move_and_erase(live)
            service = live.tessera.history
            assert service is not None and service.snapshotter is not None
            await service.snapshotter.write_queued()
            history = service.history
            history.jump_entries = 25
            picture = live.tessera.pictures["COP"]
            times = tracks.times
            past = await history.seek(picture, times[1])
            past.take_changes()
            held = {feature["id"]: feature for feature in tracks.at(times[1], "COP")}
            shown = {feature["id"]: feature for feature in overlays.at(times[1])}
            for moment in [*times[4::5], times[-1]]:
                await history.advance(past, moment)
                for change in past.take_changes():
                    apply(held if change.kind == "track" else shown, change)
                assert by_id(list(held.values())) == by_id(tracks.at(moment, "COP")), moment
                assert by_id(list(shown.values())) == overlays.at(moment), moment
            assert past.jumps > 0

    asyncio.run(scenario())
