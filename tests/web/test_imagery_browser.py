"""Imagery footprints on the map, in a real browser: a server (``tessera demo`` with a
settings file) keeps a static STAC catalogue's images over its area as footprints; the
map draws them as their own layer, which one box shows and hides, and a footprint's panel
gives its platform, time, cloud cover, GSD and links."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.imagery.catalogue import square, write_catalogue
from tests.web.test_login_browser import VIEWPORT
from tests.web.test_map_browser import (
    chromium,
    csp_violations,
    running_demo,
    sign_in_by_link,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETTINGS = """
[[pictures]]
name = "NATO-SECRET"
rule = {{ max_classification = "SECRET", releasable_to = "NATO" }}
reader_communities = ["NATO"]

[[pictures]]
name = "REL-UKR"
rule = {{ max_classification = "CONFIDENTIAL", releasable_to = "UKR" }}
reader_communities = ["UKR"]

[[imagery]]
name = "survey"
kind = "static"
path = "{path}"
principal = "nato-officer"
areas = [[15.0, 54.0, 16.5, 55.0]]
lookback_s = 864000
interval_s = 2
label = {{ classification = "UNCLASSIFIED", releasable_to = ["NATO"] }}
"""
STREAM_TIMEOUT_S = 30.0


def test_imagery_footprints_are_a_layer_of_their_own(tmp_path: Path) -> None:
    # Off the coast, north of the map's first view: no exercise unit sits on them.
    catalogue = write_catalogue(
        tmp_path / "catalogue", [square("north", 15.6, 54.4, 1), square("west", 15.3, 54.2, 2)]
    )
    config = tmp_path / "tessera.toml"
    config.write_text(SETTINGS.format(path=catalogue))
    with (
        running_demo(tmp_path / "data", "--config", str(config)) as demo,
        chromium() as browser,
    ):
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            refused = csp_violations(page)
            sign_in_by_link(page, demo.logins["nato-officer"])
            wait_for(page, "document.getElementById('imagery-count').textContent === '2'")
            footprints = page.evaluate(
                "window.tessera.overlays().filter(f => f.properties.imagery)"
                ".map(f => [f.properties.imagery.item, f.id, f.properties.name])"
            )
            ids = {item: (overlay_id, name) for item, overlay_id, name in footprints}
            north_id, north_name = ids["north"]
            # Not in the overlay list: shown and hidden together.
            assert page.locator("#overlay-list li").count() == 0
            # Found by name: the map goes to it.
            page.fill("#find", north_name)
            page.press("#find", "Enter")
            wait_for(page, f"window.tessera.renderedOverlayIds().includes({north_id!r})")
            page.uncheck("#imagery-visible")
            wait_for(page, f"!window.tessera.renderedOverlayIds().includes({north_id!r})")
            page.check("#imagery-visible")
            wait_for(page, f"window.tessera.renderedOverlayIds().includes({north_id!r})")
            box = page.locator("#map").bounding_box()
            assert box is not None
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.locator("#overlay-imagery").wait_for(state="visible", timeout=10_000)
            panel = page.locator("#overlay-panel")
            assert panel.locator("[data-field='name']").text_content() == north_name
            assert panel.locator("[data-field='platform']").text_content() == "aerial-survey"
            assert panel.locator("[data-field='cloud-cover']").text_content() == "0%"
            assert panel.locator("[data-field='gsd']").text_content() == "0.3 m"
            thumbnail = panel.locator("[data-field='imagery-links'] a", has_text="thumbnail")
            assert thumbnail.get_attribute("href") == "https://imagery.example.org/north.jpg"
            assert refused == []
        finally:
            context.close()
