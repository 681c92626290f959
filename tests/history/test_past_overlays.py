"""The overlays at a past time are those the live picture showed then (``GET
/api/v1/overlays?at=`` and ``/api/v1/tracks?at=&overlays=true``), on the embedded default
(here) and on PostGIS (tests/postgis/test_history.py): drawn, moved and erased overlays
come and go with the time asked, not with the present."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.history.past_overlays import OverlayRecording, check_past_overlays, draw_move_and_erase
from tests.support import live_server


def test_the_overlays_at_past_times_are_the_live_ones_then(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_server(tmp_path, history_snapshot_interval_s=0.001) as live:
            recording = OverlayRecording(live, "COP")
            await draw_move_and_erase(live)
            assert len({str(shown) for shown in recording.shown}) >= 4
            assert await check_past_overlays(live, recording) > 0

    asyncio.run(scenario())


def test_a_bad_time_for_overlays_is_a_clear_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_server(tmp_path) as live, live.client() as client:
            for bad in ("yesterday", "2026-12-04T09:30:00", "2999-01-01T00:00:00Z"):
                answer = await client.get("/api/v1/overlays", params={"at": bad})
                assert answer.status_code == 400, bad
                assert answer.json()["parameter"] == "at"
            now = "2020-01-01T00:00:00Z"
            flag = await client.get("/api/v1/tracks", params={"at": now, "overlays": "yes"})
            assert flag.status_code == 400 and flag.json()["parameter"] == "overlays"

    asyncio.run(scenario())
