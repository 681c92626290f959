"""History on PostGIS: snapshots in its ``history_snapshots`` table, and the picture at 20
random past times equal to what the live picture showed then."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tessera.history.postgis import PostgisSnapshots
from tests.history.past_overlays import OverlayRecording, check_past_overlays, draw_move_and_erase
from tests.history.recording import LiveRecording, post_over_time
from tests.history.test_seek import check_seeks
from tests.support import live_server


def test_the_picture_at_20_random_past_times_is_the_live_one_on_postgis(
    migrated: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with live_server(
            tmp_path, postgis_dsn=migrated, history_snapshot_interval_s=0.001
        ) as live:
            history = live.tessera.history
            assert history is not None
            assert isinstance(history.history.snapshots, PostgisSnapshots)
            recording = LiveRecording(live, ["COP"])
            await post_over_time(live, batches=30, size=20, seed=11)
            assert await check_seeks(live, recording, seed=5) == 20

    asyncio.run(scenario())


def test_the_overlays_at_past_times_are_the_live_ones_then_on_postgis(
    migrated: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with live_server(
            tmp_path, postgis_dsn=migrated, history_snapshot_interval_s=0.001
        ) as live:
            recording = OverlayRecording(live, "COP")
            await draw_move_and_erase(live)
            assert len({str(shown) for shown in recording.shown}) >= 4
            assert await check_past_overlays(live, recording) > 0

    asyncio.run(scenario())
