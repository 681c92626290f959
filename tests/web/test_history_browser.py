"""The time slider in a real browser during a live exercise: moved back, the map shows the
picture as it was then (what ``GET /api/v1/tracks?at=`` answers for that time, not the
live one), with trails from history; "Live" brings the live picture back.

The moment sought is chosen from what the server answers, not from the wall clock: one
at which history already holds tracks with trails and the live picture has moved on."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

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
# A moment a little in the past (the slider's resolution is a second: history must hold
# tracks with trails a second before it already), once history has it.
FIND_MOMENT = """async () => {
    const token = sessionStorage.getItem('tessera.token');
    const at = new Date(Date.now() - 3_000);
    const query = new URLSearchParams({picture: window.tessera.picture,
        at: new Date(at.getTime() - 1_000).toISOString(), trail: 600});
    const answer = await fetch(`/api/v1/tracks?${query}`,
        {headers: {authorization: `Bearer ${token}`}});
    if (!answer.ok) return false;
    const body = await answer.json();
    const trailed = Object.values(body.trails ?? {}).filter((t) => t.coordinates.length > 1);
    if (body.features.length === 0 || trailed.length === 0) return false;
    return at.toISOString();
}"""
# The slider moved to the value of that moment (its time: the moment, to the second).
MOVE_SLIDER = """(at) => {
    const element = document.getElementById('history-slider');
    const back = Math.round((Date.now() - new Date(at).getTime()) / 1000);
    element.value = String(Number(element.max) - back);
    element.dispatchEvent(new Event('change'));
}"""
# The live picture differs from the one at ``at`` (the exercise moved meanwhile).
MOVED_ON = """async (at) => {
    const token = sessionStorage.getItem('tessera.token');
    const ask = async (query) => {
        const answer = await fetch(`/api/v1/tracks?${new URLSearchParams(query)}`,
            {headers: {authorization: `Bearer ${token}`}});
        if (!answer.ok) throw new Error(`${answer.status} ${await answer.text()}`);
        return JSON.stringify((await answer.json()).features.map(
            (f) => [f.id, f.geometry.coordinates]).sort());
    };
    const picture = window.tessera.picture;
    return (await ask({picture, at})) !== (await ask({picture}));
}"""


def poll(page: Page, function: str, arg: object = None, timeout_s: float = 120.0) -> Any:
    """What ``function`` (async, in the page) answers once it answers something, asked
    every half second (Playwright's wait_for_function does not await a promise)."""
    deadline = time.monotonic() + timeout_s
    while not (answer := page.evaluate(function, arg)):
        assert time.monotonic() < deadline, f"still nothing after {timeout_s:g} s: {function}"
        page.wait_for_timeout(500)
    return answer


def positions(features: list[dict[str, Any]]) -> dict[str, list[float]]:
    return {feature["id"]: feature["geometry"]["coordinates"] for feature in features}


def test_the_slider_shows_a_past_picture(tmp_path: Path) -> None:
    with running_demo(tmp_path / "data") as demo, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        refused = csp_violations(page)
        sign_in_by_link(page, demo.logins["nato-officer"])
        wait_for(page, "window.tessera.trackCount() > 50")
        assert page.evaluate("document.body.dataset.history") == "live"
        sought = poll(page, FIND_MOMENT)
        poll(page, MOVED_ON, sought)
        page.evaluate(MOVE_SLIDER, sought)
        wait_for(page, "document.body.dataset.history === 'past'")
        wait_for(page, "document.getElementById('history-time').textContent.endsWith('Z')", 120)
        at = page.evaluate("document.getElementById('history-time').dataset.at")
        shown = positions(page.evaluate("window.tessera.tracks()"))
        past = positions(page.evaluate(PAST_PICTURE, at))
        live = positions(page.evaluate(PAST_PICTURE.replace(", at}", "}"), None))
        assert shown and shown == past
        # The exercise moved meanwhile: the past is not the live picture.
        assert shown != live
        wait_for(page, "window.tessera.renderedTrackIds().length > 0")
        wait_for(page, "Number(document.body.dataset.trails) > 0")
        # Played forward (in real time: it stays behind the present, so it is still playing
        # when Live is clicked), the picture moves on from there; Live brings it back.
        page.select_option("#history-speed", "1")
        page.click("#history-play")
        wait_for(page, "document.body.dataset.history === 'playing'")
        wait_for(page, f"document.getElementById('history-time').dataset.at > '{at}'")
        page.click("#history-live")
        wait_for(page, "document.body.dataset.history === 'live'")
        wait_for(page, "document.getElementById('connection').textContent === 'connected'")
        wait_for(page, "window.tessera.trackCount() > 50")
        assert refused == []
