"""Satellites on the map and the pass timeline of a selected area, in a real browser during
the demo: the space layer draws every satellite the picture admits, an area's panel shows
each pass over it in the next hours as a bar from rise to set, and the Alerts panel makes
pass warning rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from playwright.sync_api import Page

from tessera.codecs.elements import decode_element_sets
from tessera.security.demo import DEMO_PICTURES
from tests.space.support import ELEMENTS
from tests.web.test_basemap_browser import toml_value
from tests.web.test_login_browser import VIEWPORT
from tests.web.test_map_browser import Demo, chromium, csp_violations, running_demo, sign_in_by_link
from tests.web.test_map_browser import wait_for as wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]
AREA = "Pass watch box"


def current_elements(path: Path) -> Path:
    """The published element sets as OMM JSON with today's epoch: real orbits' shapes,
    propagated a few hours at most (the demo runs on the real clock)."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    rows = [
        {
            "OBJECT_NAME": e.name,
            "OBJECT_ID": e.object_id,
            "NORAD_CAT_ID": e.norad_id,
            "EPOCH": now,
            "MEAN_MOTION": e.mean_motion,
            "ECCENTRICITY": e.eccentricity,
            "INCLINATION": e.inclination,
            "RA_OF_ASC_NODE": e.ra_of_asc_node,
            "ARG_OF_PERICENTER": e.arg_of_pericenter,
            "MEAN_ANOMALY": e.mean_anomaly,
            "BSTAR": e.bstar,
        }
        for e in decode_element_sets(ELEMENTS.read_bytes())
    ]
    path.write_text(json.dumps(rows))
    return path


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    tmp_path.joinpath("space").mkdir()
    elements = current_elements(tmp_path / "space" / "elements.json")
    config = tmp_path / "space" / "tessera.toml"
    config.write_text(
        f"pictures = {toml_value(msgspec.to_builtins(DEMO_PICTURES))}\n\n"
        "[[satellites]]\n"
        f'name = "watched"\nfile = {json.dumps(str(elements))}\n'
        'label = { classification = "UNCLASSIFIED", releasable_to = ["NATO", "UKR"] }\n'
        'identity = "hostile"\nimaging = true\nsensor_half_angle = 45.0\n'
    )
    with running_demo(tmp_path / "data", "--config", str(config)) as running:
        yield running


def make_area(page: Page) -> str:
    """An area around the map's centre, made through the API as the signed-in user."""
    overlay_id: str = page.evaluate(
        """async (name) => {
            const { apiFetch } = await import("/static/auth.js");
            const ring = [[16.8, 53.3], [17.0, 53.3], [17.0, 53.4], [16.8, 53.4], [16.8, 53.3]];
            const response = await apiFetch("/api/v1/overlays", {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({
                    name, kind: "area", coordinates: ring,
                    label: { classification: "UNCLASSIFIED", releasable_to: ["NATO"] },
                }),
            });
            return (await response.json()).id;
        }""",
        AREA,
    )
    return overlay_id


def test_the_map_draws_satellites_and_an_areas_pass_timeline(demo: Demo) -> None:
    with chromium() as browser:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            refused = csp_violations(page)
            sign_in_by_link(page, demo.logins["nato-officer"])
            wait_until(page, "document.body.dataset.satellites === '20'")
            assert page.evaluate("window.tessera.map.getLayer('space-satellites') !== undefined")
            sidcs = page.evaluate("window.tessera.space().map(f => f.properties.sidc)")
            assert set(sidcs) == {"10060500001107000000"}
            make_area(page)
            item = f"#overlay-list li:has(.overlay-name:text-is('{AREA}'))"
            page.locator(item).wait_for(timeout=30_000)
            page.click(item)
            wait_until(page, "document.getElementById('pass-timeline').dataset.state === 'drawn'")
            bars = page.locator("#pass-timeline .pass-bar")
            assert bars.count() >= 5
            assert page.locator("#pass-timeline .pass-bar.in-field").count() >= 1
            first = bars.first.get_attribute("title") or ""
            assert "NORAD" in first and "rises" in first and "sets" in first
            names = page.locator("#pass-timeline .pass-name").all_text_contents()
            assert "ISS (ZARYA)" in names or len(set(names)) >= 3
            # The warning rule is offered in the Alerts panel, asking how far ahead.
            page.select_option("#alert-rule-kind", "satellite-pass")
            assert page.is_hidden("#alert-rule-area-row")
            assert page.text_content("#alert-rule-number-label") == "Warn ahead (s)"
            page.fill("#alert-rule-name", "Hide from imaging satellites")
            page.fill("#alert-rule-number", "900")
            page.click("#alert-rule-save")
            page.locator("#alert-rule-list li", has_text="Hide from imaging satellites").wait_for()
            assert refused == []
        finally:
            context.close()
