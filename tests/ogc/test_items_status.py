"""Items of a tracks collection leave dead tracks out unless ``status`` names them, carry
each track's status and last update, and refuse a bad ``status`` (or one asked of an
overlays collection) with a 400 naming it."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tessera.core.model import TrackStatus
from tessera.store.base import TrackQuery
from tests.ogc.helpers import PICTURES, SHARED, area, post_reports, put_overlays, walk
from tests.ogc.helpers import run_live as run
from tests.ogc.test_items import ITEMS, OVERLAY_ITEMS, ids, spread
from tests.support import Live


def mark_dead(live: Live, count: int, picture: str = "UKR") -> tuple[list[str], list[str]]:
    """The first ``count`` tracks by id made dead in the store, as fusion would record it:
    (the dead ids, the others')."""
    store = live.tessera.store
    tracks = sorted(store.tracks(picture, TrackQuery())[1], key=lambda track: track.id)
    dead = [msgspec.structs.replace(track, status=TrackStatus.DEAD) for track in tracks[:count]]
    store.apply(picture, store.seq(picture) + 1, dead, [])
    return [track.id for track in dead], [track.id for track in tracks[count:]]


def test_dead_tracks_are_served_only_when_status_names_them(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        await post_reports(live, spread(6))
        dead, live_ids = mark_dead(live, 2)
        async with live.client() as client:
            pages, features = await walk(client, ITEMS, limit=3)
            assert ids(features) == live_ids
            assert {page["numberMatched"] for page in pages} == {4}
            assert all(f["properties"]["status"] != "dead" for f in features)
            _, only_dead = await walk(client, ITEMS, status="dead")
            assert ids(only_dead) == dead
            assert {f["properties"]["status"] for f in only_dead} == {"dead"}
            assert all(f["properties"]["updated_at"] for f in only_dead)
            every = "tentative,confirmed,coasting,dead"
            pages, everything = await walk(client, ITEMS, status=every, limit=4)
            assert ids(everything) == sorted(dead + live_ids)
            # The next link keeps the status asked for.
            following = [link["href"] for link in pages[0]["links"] if link["rel"] == "next"]
            assert "status=" in following[0]
            # One feature by its id is served whatever its status, and says it.
            one = await client.get(f"{ITEMS}/{dead[0]}")
            assert one.json()["properties"]["status"] == "dead"

    run(tmp_path, scenario, pictures=PICTURES)


def test_a_bad_status_is_refused_with_its_name(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        await post_reports(live, spread(1))
        put_overlays(live, [area("a1", SHARED)])
        async with live.client() as client:
            for bad in ("zombie", "", ",", "dead,zombie"):
                answer = await client.get(ITEMS, params={"status": bad})
                assert answer.status_code == 400, bad
                assert answer.json()["parameter"] == "status"
                assert "tentative, confirmed, coasting, stale, dead" in answer.json()["error"]
            overlays = await client.get(OVERLAY_ITEMS, params={"status": "dead"})
            assert overlays.status_code == 400
            assert overlays.json() == {
                "error": "status: only a tracks collection takes it",
                "parameter": "status",
            }
            assert (await client.get(OVERLAY_ITEMS)).status_code == 200

    run(tmp_path, scenario, pictures=PICTURES)
