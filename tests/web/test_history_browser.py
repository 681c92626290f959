"""The time slider in a real browser during a live exercise: moved back, the map shows the
picture as it was then (what ``GET /api/v1/tracks?at=`` answers for that time, not the
live one), with trails from history; "Live" brings the live picture back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_map_browser import (
    chromium,
    csp_violations,
    running_demo,
    sign_in_by_link,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAST_PICTURE = """async (at) => {
    const token = sessionStorage.getItem('tessera.token');
    const query = new URLSearchParams({picture: window.tessera.picture, at});
    const answer = await fetch(`/api/v1/tracks?${query}`,
        {headers: {authorization: `Bearer ${token}`}});
    return (await answer.json()).features;
}"""


def positions(features: list[dict[str, Any]]) -> dict[str, list[float]]:
    return {feature["id"]: feature["geometry"]["coordinates"] for feature in features}


def test_the_slider_shows_a_past_picture(tmp_path: Path) -> None:
    with running_demo(tmp_path / "data") as demo, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        refused = csp_violations(page)
        sign_in_by_link(page, demo.logins["nato-officer"])
        wait_for(page, "window.tessera.trackCount() > 50")
        seen = time.monotonic()
        assert page.evaluate("document.body.dataset.history") == "live"
        # Let the exercise move on, then drag the slider back to a little after the
        # picture was first seen full.
        page.wait_for_timeout(8_000)
        slider = page.locator("#history-slider")
        back = int(slider.get_attribute("max") or "0") - (int(time.monotonic() - seen) - 2)
        slider.evaluate(
            "(element, value) => { element.value = value;"
            " element.dispatchEvent(new Event('change')); }",
            str(back),
        )
        wait_for(page, "document.body.dataset.history === 'past'")
        wait_for(page, "document.getElementById('history-time').textContent.endsWith('Z')")
        at = page.evaluate("document.getElementById('history-time').dataset.at")
        shown = positions(page.evaluate("window.tessera.tracks()"))
        past = positions(page.evaluate(PAST_PICTURE, at))
        live = positions(page.evaluate(PAST_PICTURE.replace(", at}", "}"), None))
        assert shown and shown == past
        # The exercise moved meanwhile: the past is not the live picture.
        assert shown != live
        wait_for(page, "window.tessera.renderedTrackIds().length > 0")
        wait_for(page, "Number(document.body.dataset.trails) > 0")
        # Played forward, the picture moves on from there; Live brings it back.
        page.click("#history-play")
        wait_for(page, "document.body.dataset.history === 'playing'")
        wait_for(page, f"document.getElementById('history-time').dataset.at > '{at}'")
        page.click("#history-live")
        wait_for(page, "document.body.dataset.history === 'live'")
        wait_for(page, "document.getElementById('connection').textContent === 'connected'")
        wait_for(page, "window.tessera.trackCount() > 50")
        assert refused == []
