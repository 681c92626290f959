"""An imagery source on a static STAC catalogue the test writes (with pystac): its items
over the areas become footprints, items that cannot be one are counted, and an item
taken out of the catalogue leaves the pictures."""

from __future__ import annotations

import functools
import threading
from datetime import timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tessera.codecs.stac import ItemFilter, bbox_geometry, item_footprint
from tessera.store.base import TrackQuery
from tessera.transports.imagery.config import ImagerySource
from tessera.transports.imagery.fetch import fetch
from tests.imagery.catalogue import NOW, point, square, write_catalogue
from tests.imagery.live import IMAGERY_LABEL, Scene, run


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


def test_an_overlay_names_the_area_of_interest(tmp_path: Path) -> None:
    path = write_catalogue(
        tmp_path / "catalogue",
        [square("inside", 18.5, 53.0, 1), square("outside", 18.0, 52.0, 1)],
    )
    source = ImagerySource(
        name="survey",
        kind="static",
        path=path,
        principal="imagery-bot",
        overlays=("Torun AOI",),
        label=IMAGERY_LABEL,
    )
    aoi = {
        "name": "Torun AOI",
        "kind": "circle",
        "coordinates": [[18.55, 53.05]],
        "radius_m": 5_000,
        "label": {"classification": "RESTRICTED", "releasable_to": ["NATO"]},
    }

    async def body(scene: Scene) -> None:
        runner = scene.runner(source)
        # No such overlay yet: nothing to search, and the status says so.
        assert not await runner.refresh()
        assert runner.status.last_error == "no area of interest: no overlay named Torun AOI"
        async with scene.client("nato") as nato:
            made = await nato.post("/api/v1/overlays", json=aoi, params={"picture": "NATO"})
            assert made.status_code == 201, made.text
        await scene.settled()
        assert await runner.refresh(), runner.status.last_error
        await scene.settled()
        overlays = scene.live.tessera.store.overlays("NATO", TrackQuery())[1]
        assert [o.imagery.item for o in overlays if o.imagery is not None] == ["inside"]

    run(tmp_path, body)


def test_a_static_catalogue_served_over_http(tmp_path: Path) -> None:
    folder = tmp_path / "catalogue"
    write_catalogue(folder, [square("a", 18.5, 53.0, 1), square("far", 30.0, 60.0, 1)])
    handler = functools.partial(QuietHandler, directory=str(folder))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/catalog.json"
            source = ImagerySource(
                name="web", kind="static", url=url, principal="p", areas=((18.0, 52.5, 19.5, 53.5),)
            )
            fetched = fetch(source, ItemFilter(areas=(bbox_geometry(source.areas[0]),)))
        finally:
            server.shutdown()
            thread.join(timeout=10)
    [found] = [item_footprint(item, source="web", grading="B2") for item in fetched.items]
    assert found.imagery.item == "a"
    # Its data file beside the catalogue, now an absolute link on the web server.
    local = [asset.href for asset in found.imagery.assets if asset.key == "local"]
    assert local == [url.replace("catalog.json", "aerial/a/a.tif")]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass
