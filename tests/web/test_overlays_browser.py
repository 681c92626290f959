"""Overlays on the map, in a real browser during a live exercise: one drawn on the NATO
officer's map (a refused label shown in the form first), seen through the stream on the map
of a viewer who reads the same picture (and may neither draw nor change it), exported with
the picture, then deleted everywhere. Takes the README's overlay screenshot (into docs/
only under `make screenshots`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.kml_schema import valid_kml
from tests.web.test_login_browser import VIEWPORT
from tests.web.test_map_browser import (
    DOCS,
    chromium,
    csp_violations,
    running_demo,
    sign_in_by_link,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOT = DOCS / "screenshot-overlays.png"
NAME = "Objective FALCON"
REMARKS = "assembly area for the counter-attack"
# The corners of the area, in pixels from the map's centre.
CORNERS = [(-150, -110), (120, -120), (160, 60), (-60, 120)]
STREAM_TIMEOUT_S = 30.0
WATCHER = "nato-watch"


def viewer_login(url: str, data: Path) -> str:
    """A login link for a new viewer of the NATO picture, added as an administrator would."""
    tessera = [sys.executable, "-m", "tessera.cli", "users"]
    add = ["add", WATCHER, "--data", str(data), "--communities", "NATO", "--clearance", "SECRET"]
    subprocess.run([*tessera, *add, "--roles", "viewer"], check=True, capture_output=True)
    issued = subprocess.run(
        [*tessera, "token", WATCHER, "--data", str(data), "--days", "1"],
        check=True,
        capture_output=True,
        text=True,
    )
    return f"{url}/#token={issued.stdout.strip()}"


def draw_area(page: Page) -> None:
    """Draws an area by clicking its corners; a double-click on the last one closes it."""
    page.click("#draw-toolbar button[data-kind='area']")
    box = page.locator("#map").bounding_box()
    assert box is not None
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    *corners, last = CORNERS
    for dx, dy in corners:
        page.mouse.click(centre_x + dx, centre_y + dy)
    page.mouse.dblclick(centre_x + last[0], centre_y + last[1])
    page.locator("#overlay-form-panel").wait_for(state="visible", timeout=10_000)


def field_error(page: Page, field: str) -> str:
    return (page.text_content(f"#overlay-form [data-error-for='{field}']") or "").strip()


def overlay_named(page: Page, name: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = page.evaluate(
        "name => window.tessera.overlays().find(f => f.properties.name === name) ?? null", name
    )
    return found


def list_item(page: Page, name: str) -> str:
    return f"#overlay-list li:has(.overlay-name:text-is('{name}'))"


def test_an_overlay_drawn_on_one_map_is_seen_on_another_and_exported(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_demo(data) as demo, chromium() as browser:
        # Two clients of the same picture, sharing nothing (sessionStorage included).
        drawer_context = browser.new_context(viewport=VIEWPORT)
        watcher_context = browser.new_context(viewport=VIEWPORT)
        try:
            drawer = drawer_context.new_page()
            watcher = watcher_context.new_page()
            refused = csp_violations(drawer)
            watcher_refused = csp_violations(watcher)
            sign_in_by_link(drawer, demo.logins["nato-officer"])
            sign_in_by_link(watcher, viewer_login(demo.url, data))
            assert watcher.evaluate("window.tessera.picture") == "NATO-SECRET"
            # Only reporters and operators draw.
            assert drawer.is_visible("#draw-toolbar")
            assert watcher.is_hidden("#draw-toolbar")
            # Nothing drawn yet (the demo's drone footprint is the only overlay there may be).
            assert overlay_named(drawer, NAME) is None

            draw_area(drawer)
            assert drawer.text_content("#overlay-form-title") == "New area"
            # Saving without a name: refused by the form itself.
            drawer.click("#overlay-save")
            assert field_error(drawer, "name") == "a name is required"
            # A classification the server does not know: its 422, shown by the field.
            drawer.fill("#overlay-name", NAME)
            drawer.fill("#overlay-remarks", REMARKS)
            drawer.fill("#overlay-classification", "MOST SECRET")
            drawer.click("#overlay-save")
            classification_error = "#overlay-form [data-error-for='classification']"
            drawer.locator(classification_error).wait_for(state="visible", timeout=15_000)
            assert "must be one of" in field_error(drawer, "classification")
            assert drawer.get_attribute("#overlay-classification", "aria-invalid") == "true"
            assert field_error(drawer, "name") == ""
            assert drawer.is_visible("#overlay-form-errors")

            drawer.fill("#overlay-classification", "RESTRICTED")
            drawer.fill("#overlay-releasable", "NATO")
            drawer.click("#overlay-save")
            drawer.locator("#overlay-form-panel").wait_for(state="hidden", timeout=15_000)

            # Listed and drawn on the drawer's map, with its details in the side panel.
            item = drawer.locator(list_item(drawer, NAME))
            item.wait_for(timeout=STREAM_TIMEOUT_S * 1000)
            assert (item.locator(".overlay-about").text_content() or "") == (
                "area · RESTRICTED REL NATO"
            )
            overlay = overlay_named(drawer, NAME)
            assert overlay is not None
            assert overlay["geometry"]["type"] == "Polygon"
            assert len(overlay["geometry"]["coordinates"][0]) == len(CORNERS) + 1
            assert overlay["properties"]["author"] == "nato-officer"
            overlay_id = overlay["id"]
            wait_for(drawer, f"window.tessera.renderedOverlayIds().includes({overlay_id!r})")
            panel = drawer.locator("#overlay-panel")
            panel.wait_for(state="visible", timeout=10_000)
            assert panel.locator("[data-field='name']").text_content() == NAME
            assert panel.locator("[data-field='remarks']").text_content() == REMARKS
            assert panel.locator("[data-field='label']").text_content() == "RESTRICTED REL NATO"
            assert drawer.is_visible("#overlay-delete")
            drawer.wait_for_timeout(500)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            drawer.screenshot(path=str(SCREENSHOT))

            # The second client sees it come on the stream: listed and drawn.
            watcher.locator(list_item(watcher, NAME)).wait_for(timeout=STREAM_TIMEOUT_S * 1000)
            wait_for(watcher, f"window.tessera.renderedOverlayIds().includes({overlay_id!r})")
            # Hidden by its box, shown again; then flown to and detailed by its name.
            watcher.uncheck(f"{list_item(watcher, NAME)} input[type='checkbox']")
            wait_for(watcher, f"!window.tessera.renderedOverlayIds().includes({overlay_id!r})")
            watcher.check(f"{list_item(watcher, NAME)} input[type='checkbox']")
            watcher.click(f"{list_item(watcher, NAME)} .overlay-name")
            watcher.locator("#overlay-panel").wait_for(state="visible", timeout=10_000)
            assert watcher.text_content("#overlay-panel [data-field='author']") == "nato-officer"
            # Neither its author, nor an operator: nothing to change.
            assert watcher.is_hidden("#overlay-actions")
            wait_for(watcher, f"window.tessera.renderedOverlayIds().includes({overlay_id!r})")

            # The picture exported from the drawer's map holds the overlay.
            exported = export(drawer, "geojson", tmp_path)
            features = json.loads(exported.read_text("utf-8"))["features"]
            mine = [f for f in features if f["properties"].get("name") == NAME]
            assert len(mine) == 1
            assert mine[0]["properties"]["kind"] == "area"
            assert mine[0]["geometry"]["type"] == "Polygon"
            kmz = export(drawer, "kmz", tmp_path)
            assert NAME in valid_kml(kmz.read_bytes()).decode("utf-8")

            # Deleted (after a confirmation) on one map: gone from both.
            drawer.click("#overlay-delete")
            assert drawer.is_visible("#overlay-confirm")
            drawer.click("#overlay-confirm-delete")
            drawer.locator("#overlay-panel").wait_for(state="hidden", timeout=15_000)
            for page in (drawer, watcher):
                gone = f"!window.tessera.overlays().some(f => f.id === {overlay_id!r})"
                wait_for(page, gone, STREAM_TIMEOUT_S)
                page.locator(list_item(page, NAME)).wait_for(state="detached", timeout=10_000)
            assert watcher.is_hidden("#overlay-panel")
            assert refused == []
            assert watcher_refused == []
        finally:
            drawer_context.close()
            watcher_context.close()


def export(page: Page, file_format: str, folder: Path) -> Path:
    """Picks a format from the Export menu and saves what the browser downloads."""
    page.click("#export-button")
    with page.expect_download(timeout=30_000) as download_info:
        page.click(f"#export-menu [data-format='{file_format}']")
    download = download_info.value
    assert download.suggested_filename == f"NATO-SECRET.{file_format}"
    target = folder / download.suggested_filename
    download.save_as(target)
    return target
