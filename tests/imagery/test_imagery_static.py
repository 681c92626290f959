"""An imagery source on a static STAC catalogue the test writes (with pystac): its items
over the areas become footprints, items that cannot be one are counted, and an item
taken out of the catalogue leaves the pictures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pystac

from tessera.store.base import TrackQuery
from tessera.transports.imagery.config import ImagerySource
from tests.imagery.live import IMAGERY_LABEL, Scene, run

NOW = datetime.now(UTC).replace(microsecond=0)


def square(item_id: str, west: float, south: float, days_ago: float) -> pystac.Item:
    east, north = west + 0.1, south + 0.1
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    made = pystac.Item(
        id=item_id,
        geometry={"type": "Polygon", "coordinates": [ring]},
        bbox=[west, south, east, north],
        datetime=NOW - timedelta(days=days_ago),
        properties={"platform": "aerial-survey", "gsd": 0.3, "eo:cloud_cover": 0.0},
    )
    made.add_asset(
        "thumbnail",
        pystac.Asset(href=f"https://imagery.example.org/{item_id}.jpg", roles=["thumbnail"]),
    )
    # A relative asset on disk: not a link anybody on the map could follow.
    made.add_asset("local", pystac.Asset(href=f"./{item_id}.tif", roles=["data"]))
    return made


def point(item_id: str, lon: float, lat: float) -> pystac.Item:
    return pystac.Item(
        id=item_id,
        geometry={"type": "Point", "coordinates": [lon, lat]},
        bbox=[lon, lat, lon, lat],
        datetime=NOW,
        properties={},
    )


def write_catalogue(folder: Path, items: list[pystac.Item]) -> Path:
    catalog = pystac.Catalog(id="survey", description="Aerial survey")
    survey = pystac.Collection(
        id="aerial",
        description="Aerial survey",
        extent=pystac.Extent(
            pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]]),
            pystac.TemporalExtent([[NOW - timedelta(days=365), None]]),
        ),
    )
    catalog.add_child(survey)
    survey.add_items(items)
    catalog.normalize_hrefs(str(folder))
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return folder / "catalog.json"


def test_a_static_catalogue_kept_current(tmp_path: Path) -> None:
    folder = tmp_path / "catalogue"
    path = write_catalogue(
        folder,
        [
            square("a", 18.5, 53.0, 1),
            square("b", 18.6, 53.1, 2),
            square("far", 30.0, 60.0, 1),
            point("spot", 18.55, 53.05),
        ],
    )
    source = ImagerySource(
        name="survey",
        kind="static",
        path=path,
        principal="imagery-bot",
        areas=((18.0, 52.5, 19.5, 53.5),),
        lookback_s=None,
        label=IMAGERY_LABEL,
    )

    def items(scene: Scene) -> dict[str, str]:
        overlays = scene.live.tessera.store.overlays("NATO", TrackQuery())[1]
        return {o.imagery.item: o.id for o in overlays if o.imagery is not None}

    async def body(scene: Scene) -> None:
        runner = scene.runner(source)
        assert await runner.refresh(), runner.status.last_error
        await scene.settled()
        assert sorted(items(scene)) == ["a", "b"]
        assert runner.status.problems == {"its footprint is not a polygon": 1}
        overlay = scene.live.tessera.store.overlay("NATO", items(scene)["a"])
        assert overlay is not None and overlay.imagery is not None
        facts = overlay.imagery
        assert (facts.collection, facts.platform, facts.gsd_m) == ("aerial", "aerial-survey", 0.3)
        assert facts.thumbnail == "https://imagery.example.org/a.jpg"
        assert [asset.key for asset in facts.assets] == ["thumbnail"]
        assert facts.acquired_at == NOW - timedelta(days=1)

        # "a" taken out, "c" added: one new, one gone.
        write_catalogue(folder, [square("b", 18.6, 53.1, 2), square("c", 18.7, 53.2, 0)])
        assert await runner.refresh(), runner.status.last_error
        await scene.settled()
        assert sorted(items(scene)) == ["b", "c"]
        status = runner.status
        assert (status.items, status.new_items, status.removed_items) == (2, 1, 1)
        async with scene.client("nato") as nato:
            listed = (await nato.get("/api/v1/imagery")).json()["sources"]
        assert [(s["name"], s["state"], s["items"]) for s in listed] == [("survey", "current", 2)]

    run(tmp_path, body)
