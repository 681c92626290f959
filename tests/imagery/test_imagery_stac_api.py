"""An imagery source on a real STAC API (stac-fastapi on pgstac): its items become
footprint overlays of the pictures that admit its label, a new item raises exactly one
new-imagery alert for the readers of the rule's picture and nobody else, and the
pictures' imagery collections serve them."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tessera.core.overlays import Overlay
from tessera.store.base import TrackQuery
from tessera.transports.imagery.config import ImagerySource
from tests.imagery.live import IMAGERY_LABEL, Scene, raised, run
from tests.imagery.stac_server import StacApi, collection, item

# The area of interest the rule watches: about 40 km by 45 km around Toruń.
AOI: dict[str, Any] = {
    "name": "Torun AOI",
    "kind": "area",
    "coordinates": [[18.3, 52.9], [18.9, 52.9], [18.9, 53.3], [18.3, 53.3], [18.3, 52.9]],
    "label": {"classification": "RESTRICTED", "releasable_to": ["NATO"]},
}


def when(days_ago: float) -> str:
    moment = datetime.now(UTC) - timedelta(days=days_ago)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def imagery(scene: Scene, picture: str) -> list[Overlay]:
    overlays = scene.live.tessera.store.overlays(picture, TrackQuery())[1]
    return sorted((o for o in overlays if o.imagery is not None), key=lambda o: o.imagery.item)  # type: ignore[union-attr]


async def alerts(scene: Scene, who: str, picture: str) -> tuple[int, list[dict[str, Any]]]:
    async with scene.client(who) as client:
        answer = await client.get("/api/v1/alerts", params={"picture": picture, "state": "all"})
    return answer.status_code, answer.json().get("alerts", []) if answer.is_success else []


def test_new_imagery_reaches_the_pictures_readers_once(
    tmp_path: Path, stac_server: StacApi
) -> None:
    optical = f"optical-{secrets.token_hex(3)}"
    stac_server.load("collections", [collection(optical)])
    stac_server.load(
        "items",
        [
            item("over-1", optical, west=18.5, south=53.0, at=when(2)),
            item("over-2", optical, west=18.4, south=52.95, at=when(1), cloud_cover=3.0),
            # In the source's area, not the rule's.
            item("elsewhere", optical, west=19.6, south=54.0, at=when(1)),
            # Too old for the source's window.
            item("old", optical, west=18.5, south=53.0, at=when(90)),
        ],
    )
    source = ImagerySource(
        name="sentinel",
        kind="stac-api",
        url=stac_server.url,
        principal="imagery-bot",
        collections=(optical,),
        areas=((17.0, 52.0, 20.0, 55.0),),
        lookback_s=30 * 86_400.0,
        label=IMAGERY_LABEL,
        grading="A2",
    )

    async def body(scene: Scene) -> None:
        async with scene.client("nato") as nato:
            made = await nato.post("/api/v1/overlays", json=AOI, params={"picture": "NATO"})
            assert made.status_code == 201, made.text
            area_id = made.json()["id"]
            await scene.settled()
            rule = {"kind": "new-imagery", "area": area_id, "picture": "NATO", "id": "imagery"}
            made = await nato.post("/api/v1/alert-rules", json=rule, params={"picture": "NATO"})
            assert made.status_code == 201, made.text
        runner = scene.runner(source)
        inbox = scene.live.tessera.alerts.feed.listen()
        assert await runner.refresh(), runner.status.last_error
        await scene.settled()
        shown = imagery(scene, "NATO")
        assert [o.imagery.item for o in shown if o.imagery] == ["elsewhere", "over-1", "over-2"]
        # The imagery label is NATO's only: the partner's picture has none of it.
        assert imagery(scene, "UKR") == []
        first = next(o for o in shown if o.imagery and o.imagery.item == "over-2")
        facts = first.imagery
        assert facts is not None
        assert (facts.platform, facts.cloud_cover, facts.gsd_m, facts.grading) == (
            "sentinel-2a",
            3.0,
            10.0,
            "A2",
        )
        assert facts.thumbnail == "https://imagery.example.org/over-2/thumb.png"
        assert first.label == IMAGERY_LABEL and first.author == "imagery-bot"
        # An alert for each image over the area.
        first_alerts = await raised(inbox, 2)
        before = {a["id"] for a in (await alerts(scene, "nato", "NATO"))[1]}
        assert before == {notice.alert.id for notice in first_alerts}

        stac_server.load("items", [item("over-3", optical, west=18.6, south=53.1, at=when(0.1))])
        assert await runner.refresh(), runner.status.last_error
        assert (runner.status.new_items, runner.status.items) == (1, 4)
        await scene.settled()
        notices = await raised(inbox, 1)
        status, listed = await alerts(scene, "nato", "NATO")
        new = [a for a in listed if a["id"] not in before]
        assert status == 200 and len(new) == 1, listed
        [alert] = new
        newest = next(o for o in imagery(scene, "NATO") if o.imagery and o.imagery.item == "over-3")
        assert (alert["kind"], alert["track_id"], alert["other"]) == (
            "new-imagery",
            newest.id,
            area_id,
        )
        assert alert["track_name"] == newest.name and "Torun AOI" in alert["detail"]
        assert [n.alert.id for n in notices] == [alert["id"]]
        # Nobody else: the partner's picture has no such alert, and the NATO one is not
        # the partner's to read.
        assert await alerts(scene, "ukr", "UKR") == (200, [])
        assert (await alerts(scene, "ukr", "NATO"))[0] == 404

        # Nothing new: nothing journaled, no alert.
        journaled = scene.live.tessera.journal.last_seq
        assert await runner.refresh()
        assert scene.live.tessera.journal.last_seq == journaled
        assert runner.status.new_items == 0

        async with scene.client("nato") as nato:
            listed_collections = (await nato.get("/ogc/collections")).json()["collections"]
            assert "NATO-imagery" in [c["id"] for c in listed_collections]
            page = (await nato.get("/ogc/collections/NATO-imagery/items")).json()
            assert page["numberMatched"] == 4
            properties = {f["properties"]["item"]: f["properties"] for f in page["features"]}
            assert properties["over-3"]["platform"] == "sentinel-2a"
            assert properties["over-3"]["thumbnail"].endswith("/over-3/thumb.png")
            assert {a["key"] for a in properties["over-3"]["assets"]} == {"thumbnail", "visual"}
            # Footprints are the imagery collection's, not the overlays'.
            overlays = (await nato.get("/ogc/collections/NATO-overlays/items")).json()
            assert [f["id"] for f in overlays["features"]] == [area_id]
            recent = await nato.get(
                "/ogc/collections/NATO-imagery/items",
                params={"datetime": f"{when(0.5)}/..", "bbox": "18,52.5,19,53.5"},
            )
            assert [f["properties"]["item"] for f in recent.json()["features"]] == ["over-3"]
        async with scene.client("ukr") as ukr:
            assert (await ukr.get("/ogc/collections/NATO-imagery/items")).status_code == 404
            mine = (await ukr.get("/ogc/collections/UKR-imagery/items")).json()
            assert mine["numberMatched"] == 0

    run(tmp_path, body)
