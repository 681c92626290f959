"""The basemap and the grid in a real browser during a live exercise: the built-in
basemap's towns, the pointer's position in MGRS (checked against GeoTrans) and degrees,
the MGRS grid at 100 km, 10 km and 1 km, "go to", and the layer switcher changing to an
operator's vector PMTiles (built here with the pmtiles library) and raster MBTiles basemap
while the picture's layers stay. Takes the README's basemap and grid screenshots (into
docs/ only under `make screenshots`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from playwright.sync_api import Page

from tessera.core.grid_refs import mgrs_position
from tessera.security.demo import DEMO_PICTURES
from tests.tiles.archives import write_raster_mbtiles, write_style, write_vector_pmtiles
from tests.web.test_login_browser import VIEWPORT
from tests.web.test_map_browser import (
    DOCS,
    Demo,
    chromium,
    csp_violations,
    running_demo,
    sign_in_by_link,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BASEMAP_SCREENSHOT = DOCS / "screenshot-basemap.png"
GRID_SCREENSHOT = DOCS / "screenshot-mgrs.png"
# The picture's own layers: whatever the basemap, they stay.
PICTURE_LAYERS = ["overlay-fill", "overlay-line", "overlay-symbol", "friends", "hostiles"]
MAP_SOURCES = ["natural-earth", "towns", "mgrs-grid"]
MAGENTA = "#ff00ff"


def toml_value(value: Any) -> str:
    """JSON's strings, numbers and lists are TOML's; objects become inline tables."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {toml_value(v)}" for key, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


def settings_file(folder: Path) -> Path:
    """The demo's pictures and two basemaps: a vector one with its style, a raster one."""
    folder.mkdir(parents=True)
    land = write_vector_pmtiles(folder / "land.pmtiles", max_zoom=6)
    style = write_style(folder / "style.json", MAGENTA)
    imagery = write_raster_mbtiles(folder / "imagery.mbtiles", max_zoom=6)
    pictures = toml_value(msgspec.to_builtins(DEMO_PICTURES))
    config = folder / "tessera.toml"
    config.write_text(
        f"pictures = {pictures}\n\n"
        "[[basemaps]]\n"
        f'name = "land"\npath = {json.dumps(str(land))}\nkind = "vector"\n'
        f'style = {json.dumps(str(style))}\ntitle = "Test land"\n\n'
        "[[basemaps]]\n"
        f'name = "imagery"\npath = {json.dumps(str(imagery))}\nkind = "raster"\n'
        'title = "Test imagery"\n'
    )
    return config


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    config = settings_file(tmp_path / "maps")
    with running_demo(tmp_path / "data", "--config", str(config)) as running:
        yield running


def settle(page: Page) -> None:
    """Until the map has drawn what it was last asked to: the basemap's, the towns' and
    the grid's sources loaded (the live picture's updates keep the map from ever being
    idle), then one frame."""
    wait_for(
        page,
        """Object.keys(window.tessera.map.getStyle().sources)
            .filter((id) => MAP_SOURCES.includes(id) || id.startsWith("basemap:"))
            .every((id) => window.tessera.map.isSourceLoaded(id))""".replace(
            "MAP_SOURCES", json.dumps(MAP_SOURCES)
        ),
    )
    page.evaluate(
        """() => new Promise((resolve) => {
            window.tessera.map.once("render", () => resolve());
            window.tessera.map.triggerRepaint();
        })"""
    )


def jump(page: Page, lon: float, lat: float, zoom: float) -> None:
    page.evaluate(
        "([lon, lat, zoom]) => { window.tessera.map.jumpTo({center: [lon, lat], zoom}); }",
        [lon, lat, zoom],
    )
    settle(page)


def rendered(page: Page, layer: str) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = page.evaluate(
        """(layer) => window.tessera.map.queryRenderedFeatures({layers: [layer]})
            .map((f) => f.properties)""",
        layer,
    )
    return features


def layer_ids(page: Page) -> list[str]:
    ids: list[str] = page.evaluate("window.tessera.map.getStyle().layers.map((l) => l.id)")
    return ids


def readout(page: Page) -> dict[str, str]:
    fields = ("mgrs", "dd", "dms")
    return {
        name: page.locator(f".coordinates [data-field='{name}']").text_content() or ""
        for name in fields
    }


def test_towns_grid_readout_and_go_to(demo: Demo) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        refused = csp_violations(page)
        sign_in_by_link(page, demo.logins["nato-officer"])
        wait_for(page, "window.tessera.basemapTools !== null")
        towns = page.evaluate("window.tessera.basemapTools.towns")
        assert towns > 40_000

        # The exercise area at the opening zoom: big towns named, the 100 km squares.
        jump(page, 17.6, 53.2, 7.2)
        names = {town["name"] for town in rendered(page, "town-labels")}
        assert {"Bydgoszcz", "Toruń"} <= names
        assert page.evaluate("window.tessera.basemapTools.grid.size") == 100_000
        squares = rendered(page, "mgrs-grid-labels")
        # Squares named on both sides of the zone boundary at 18° E.
        assert {"grid:XU", "grid:CD"} <= {square["name"] for square in squares}
        assert {line["size"] for line in rendered(page, "mgrs-grid-lines")} >= {0, 100_000}

        # The pointer's position, as GeoTrans reads it too.
        box = page.locator("#map").bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.6
        page.mouse.move(x, y)
        shown = readout(page)
        lon, lat = page.evaluate(
            "([x, y]) => window.tessera.map.unproject([x, y]).toArray()",
            [x - box["x"], y - box["y"]],
        )
        # Where the pointer is, within a pixel (some 650 m at this zoom) of where it went.
        shown_lat, shown_lon = (float(part.split("°")[0]) for part in shown["dd"].split(","))
        assert shown["dd"].endswith("° E") and "° N" in shown["dd"]
        assert abs(shown_lat - lat) < 0.01 and abs(shown_lon - lon) < 0.015
        # The same place in MGRS, to the metre, as GeoTrans reads it.
        grid_lat, grid_lon = mgrs_position(shown["mgrs"])
        assert abs(grid_lat - shown_lat) < 2e-5 and abs(grid_lon - shown_lon) < 3e-5
        degrees, rest = shown["dms"].split("°", 1)
        assert int(degrees) == int(shown_lat) and rest.split(" ")[0].endswith("N")

        # Closer in: the 10 km squares, then the 1 km ones.
        jump(page, 18.0, 53.12, 9.5)
        assert page.evaluate("window.tessera.basemapTools.grid.size") == 10_000
        assert 10_000 in {line["size"] for line in rendered(page, "mgrs-grid-lines")}
        jump(page, 18.0, 53.12, 12.5)
        assert page.evaluate("window.tessera.basemapTools.grid.size") == 1_000
        assert 1_000 in {line["size"] for line in rendered(page, "mgrs-grid-lines")}

        # Go to a typed reference: the map centres on it, the readout names it.
        goto = page.locator(".coordinates input[name='position']")
        goto.fill("34U BD 99831 90190")
        goto.press("Enter")
        centre = page.evaluate("window.tessera.map.getCenter().toArray()")
        assert abs(centre[0] - 18.0084) < 1e-4 and abs(centre[1] - 53.1235) < 1e-4
        assert page.evaluate("window.tessera.map.getZoom()") == 16
        assert readout(page)["mgrs"] == "34U BD 99831 90190"
        # And a latitude and longitude in degrees, minutes and seconds.
        goto.fill("53°20'00\"N 17°00'00\"E")
        goto.press("Enter")
        centre = page.evaluate("window.tessera.map.getCenter().toArray()")
        assert abs(centre[0] - 17.0) < 1e-6 and abs(centre[1] - (53 + 1 / 3)) < 1e-6
        # Nonsense is answered, and the map stays where it was.
        goto.fill("somewhere north")
        goto.press("Enter")
        error = page.locator(".coordinates .form-error")
        assert error.is_visible() and "Not a position" in (error.text_content() or "")
        assert page.evaluate("window.tessera.map.getCenter().toArray()") == centre

        jump(page, 18.0, 53.12, 9.5)
        page.mouse.move(x, y)
        GRID_SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(GRID_SCREENSHOT))
        assert refused == []


def test_layer_switcher_changes_the_basemap_and_keeps_the_picture(demo: Demo) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        refused = csp_violations(page)
        sign_in_by_link(page, demo.logins["nato-officer"])
        wait_for(page, "window.tessera.basemapTools?.switcher ?? null")
        page.click(".layer-switcher-button")
        titles = page.locator(".layer-switcher-panel input[name='basemap']")
        assert titles.count() == 3
        before = [layer for layer in layer_ids(page) if layer in PICTURE_LAYERS]
        assert before == PICTURE_LAYERS
        jump(page, 17.6, 53.2, 5.5)
        assert rendered(page, "sea") and "land" in layer_ids(page)

        # The operator's vector basemap, drawn by its own style, beneath the picture.
        page.get_by_label("Test land").check()
        wait_for(page, "window.tessera.basemapTools.basemaps.current === 'land'")
        settle(page)
        assert rendered(page, "basemap:land:land")
        ids = layer_ids(page)
        assert "land" not in ids and "sea" not in ids
        assert [layer for layer in ids if layer in PICTURE_LAYERS] == PICTURE_LAYERS
        # Basemap first, then towns and the grid, then the picture.
        assert ids.index("basemap:land:land") < ids.index("town-dots") < ids.index("friends")
        wait_for(page, "window.tessera.renderedTrackIds().length > 0")
        BASEMAP_SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(BASEMAP_SCREENSHOT))

        # Turning the grid and towns off and on again leaves the picture alone too.
        page.get_by_label("MGRS grid").uncheck()
        page.get_by_label("Towns").uncheck()
        settle(page)
        # Hidden symbols leave the map's placement at its next pass, a frame or a few later.
        wait_for(
            page,
            """["mgrs-grid-lines", "town-labels"].every((layer) =>
                window.tessera.map.queryRenderedFeatures({ layers: [layer] }).length === 0)""",
        )
        page.get_by_label("MGRS grid").check()
        page.get_by_label("Towns").check()

        # The raster one, from MBTiles.
        page.get_by_label("Test imagery").check()
        wait_for(page, "window.tessera.basemapTools.basemaps.current === 'imagery'")
        settle(page)
        ids = layer_ids(page)
        assert "basemap:imagery:raster" in ids and "basemap:land:land" not in ids
        assert page.evaluate("window.tessera.map.isSourceLoaded('basemap:imagery:raster')")
        assert [layer for layer in ids if layer in PICTURE_LAYERS] == PICTURE_LAYERS

        # And back to the built-in one.
        page.get_by_label("Natural Earth (built in)").check()
        wait_for(page, "window.tessera.basemapTools.basemaps.current === 'default'")
        settle(page)
        assert rendered(page, "sea") and "land" in layer_ids(page)
        assert "basemap:imagery:raster" not in layer_ids(page)
        wait_for(page, "window.tessera.renderedTrackIds().length > 0")
        assert refused == []
