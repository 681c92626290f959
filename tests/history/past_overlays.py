"""Shared by the past-overlay tests (embedded here, PostGIS in tests/postgis): overlays
drawn, moved and erased between batches of reports, each step of live fusion recorded,
and the overlays at past times asked of the API."""

from __future__ import annotations

import bisect
from datetime import datetime
from typing import Any

import msgspec

from tessera.codecs.geojson_export import overlay_feature
from tessera.codecs.json import encode
from tessera.store.base import TrackQuery
from tests.history.recording import at_param, post_over_time
from tests.support import Live


def area(name: str, lon: float) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "area",
        "coordinates": [[lon, 53.0], [lon + 0.1, 53.0], [lon + 0.1, 53.1]],
    }


class OverlayRecording:
    """A picture's overlays (as the API shows them) after every step of live fusion."""

    def __init__(self, live: Live, picture: str) -> None:
        self._live = live
        self._picture = picture
        self.times: list[datetime] = []
        self.shown: list[list[dict[str, Any]]] = []
        live.tessera.worker.on_applied.append(self._record)

    def _record(self, /) -> None:
        tessera = self._live.tessera
        moment = tessera.worker.time
        assert moment is not None
        _, overlays = tessera.store.overlays(self._picture, TrackQuery())
        features = [overlay_feature(o) for o in sorted(overlays, key=lambda o: o.id)]
        self.times.append(moment)
        self.shown.append(msgspec.json.decode(encode(features)))

    def at(self, moment: datetime) -> list[dict[str, Any]]:
        index = bisect.bisect_right(self.times, moment)
        return [] if index == 0 else self.shown[index - 1]


async def draw_move_and_erase(live: Live) -> None:
    """Reports, an area drawn, reports, it moved and another drawn, reports, the first
    erased, reports: four overlay pictures in turn at least."""
    async with live.client() as client:

        async def caught_up() -> None:
            assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)

        await post_over_time(live, batches=3, size=10, seed=21)
        drawn = await client.post("/api/v1/overlays", json=area("Objective", 18.0))
        assert drawn.status_code == 201, drawn.text
        first = drawn.json()["id"]
        await caught_up()
        await post_over_time(live, batches=3, size=10, seed=22)
        moved = await client.put(f"/api/v1/overlays/{first}", json=area("Objective", 18.5))
        assert moved.status_code == 200, moved.text
        second = await client.post("/api/v1/overlays", json=area("Assembly", 19.0))
        assert second.status_code == 201, second.text
        await caught_up()
        await post_over_time(live, batches=3, size=10, seed=23)
        assert (await client.delete(f"/api/v1/overlays/{first}")).status_code == 204
        await caught_up()
        await post_over_time(live, batches=3, size=10, seed=24)


async def check_past_overlays(live: Live, recording: OverlayRecording) -> int:
    """At every recorded step, and just before the first: the overlays ``?at=`` answers
    are the live ones then, alone and with the past tracks. How many differed from now."""
    history = live.tessera.history
    assert history is not None and history.snapshotter is not None
    await history.snapshotter.write_queued()
    now = recording.shown[-1]
    differed = 0
    async with live.client() as client:
        for moment in recording.times[:: max(1, len(recording.times) // 12)]:
            at = at_param(moment)
            alone = await client.get("/api/v1/overlays", params={"at": at})
            assert alone.status_code == 200, alone.text
            body = alone.json()
            assert body["at"] == at and body["seq"] is None
            assert body["features"] == recording.at(moment), moment
            both = await client.get("/api/v1/tracks", params={"at": at, "overlays": "true"})
            assert both.status_code == 200, both.text
            assert both.json()["overlays"] == recording.at(moment), moment
            differed += body["features"] != now
    return differed
