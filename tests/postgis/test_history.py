"""History on PostGIS: snapshots in its ``history_snapshots`` table, and the picture at 20
random past times equal to what the live picture showed then."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tessera.history.postgis import PostgisSnapshots
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
