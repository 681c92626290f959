"""Signing in on the map, in a real browser during a live exercise: the login screen, a
refused token, and each demo principal seeing only its own picture under its own
classification banners. Takes the login and per-principal screenshots (into docs/ only
under `make screenshots`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize

from tests.web.test_map_browser import (
    DOCS,
    Demo,
    chromium,
    confirmed_hostile_on_screen,
    csp_violations,
    open_track,
    running_demo,
    sign_in_by_link,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
LABEL = re.compile(r"^(UNCLASSIFIED|RESTRICTED|CONFIDENTIAL|SECRET)( REL [A-Z]+(, [A-Z]+)*)?$")
SESSION_ENDED = "your session has ended: sign in again"


@dataclass(frozen=True)
class Expected:
    """What a demo principal reads: its only picture, that picture's banner and labels."""

    picture: str
    banner: str
    community: str
    levels: frozenset[str]
    screenshot: Path


EXPECTED = {
    "nato-officer": Expected(
        picture="NATO-SECRET",
        banner="SECRET // REL TO NATO",
        community="NATO",
        levels=frozenset({"UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"}),
        screenshot=DOCS / "screenshot-nato.png",
    ),
    "ukr-liaison": Expected(
        picture="REL-UKR",
        banner="CONFIDENTIAL // REL TO UKR",
        community="UKR",
        levels=frozenset({"UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL"}),
        screenshot=DOCS / "screenshot-ukr.png",
    ),
}


# A server per test: failed sign-ins in one test count nothing against the next.
@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    with running_demo(tmp_path / "data") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def rgb(colour: str) -> str:
    """#c8102e as the browser's computed style gives it: rgb(200, 16, 46)."""
    value = colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    red, green, blue = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgb({red}, {green}, {blue})"


def banner_of(page: Page, element_id: str) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate(
        """id => {
            const element = document.getElementById(id);
            const style = getComputedStyle(element);
            const box = element.getBoundingClientRect();
            return {text: element.textContent.trim(), background: style.backgroundColor,
                    colour: style.color, top: box.top, bottom: box.bottom,
                    height: box.height, visible: style.display !== "none" &&
                    style.visibility !== "hidden"};
        }""",
        element_id,
    )
    return found


def api_get(page: Page, path: str) -> dict[str, Any]:
    """GET an API path from inside the page, with the token the page keeps."""
    answer: dict[str, Any] = page.evaluate(
        """async path => {
            const token = sessionStorage.getItem("tessera.token");
            const headers = token ? {Authorization: `Bearer ${token}`} : {};
            const response = await fetch(path, {headers});
            return {status: response.status, body: await response.json()};
        }""",
        path,
    )
    return answer


def login_message(page: Page) -> str:
    return (page.text_content("#login-message") or "").strip()


def test_without_a_token_the_login_screen_is_shown_and_a_wrong_token_is_refused(
    demo: Demo, browser: Browser
) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        refused = csp_violations(page)
        response = page.goto(demo.url + "/")
        assert response is not None
        assert "default-src 'self'" in (response.headers.get("content-security-policy") or "")
        wait_for(page, "document.body.dataset.auth === 'signed-out'")
        assert page.is_visible("#login-form")
        assert page.is_hidden("#app")
        assert login_message(page) == ""
        for banner_id in ("banner-top", "banner-bottom"):
            assert banner_of(page, banner_id)["visible"]
        # Nothing of the API answers without a token.
        assert api_get(page, "/api/v1/pictures")["status"] == 401
        page.screenshot(path=str(DOCS / "screenshot-login.png"))

        page.fill("#login-token", "tsr_not-a-real-token")
        page.click("#login-button")
        wait_for(page, "document.getElementById('login-message').textContent.trim() !== ''")
        assert "not accepted" in login_message(page)
        assert page.is_visible("#login-form")
        assert page.evaluate("sessionStorage.getItem('tessera.token')") is None

        # A login link with a wrong token: refused too, and the token leaves the address bar.
        page.goto(demo.url + "/#token=tsr_also-not-real")
        wait_for(page, "document.getElementById('login-message').textContent.includes('accepted')")
        assert "token" not in page.url
        assert page.is_hidden("#app")
        assert refused == []
    finally:
        context.close()


def test_each_principal_sees_only_its_own_picture_under_its_banners(
    demo: Demo, browser: Browser
) -> None:
    track_ids: dict[str, set[str]] = {}
    contexts = []
    try:
        for name, expected in EXPECTED.items():
            # One context each: nothing (sessionStorage included) is shared between them.
            context = browser.new_context(viewport=VIEWPORT)
            contexts.append(context)
            page = context.new_page()
            refused = csp_violations(page)
            sign_in_by_link(page, demo.logins[name])
            assert page.evaluate("window.tessera.principal") == name
            assert page.text_content("#principal") == name
            assert page.evaluate("window.tessera.picture") == expected.picture

            # The selector offers what the server says this principal may read: one picture.
            pictures = api_get(page, "/api/v1/pictures")
            assert pictures["status"] == 200
            served = [picture["name"] for picture in pictures["body"]["pictures"]]
            options = page.eval_on_selector_all("#picture option", "os => os.map(o => o.value)")
            assert options == served == [expected.picture]

            # Banners at the very top and bottom, in the picture's colours.
            banner = pictures["body"]["pictures"][0]["banner"]
            assert banner["text"] == expected.banner
            for banner_id in ("banner-top", "banner-bottom"):
                shown = banner_of(page, banner_id)
                assert shown["visible"]
                assert shown["height"] > 0
                assert shown["text"] == expected.banner
                assert shown["background"] == rgb(banner["colour"])
                assert shown["colour"] == rgb(banner["text_colour"])
            assert banner_of(page, "banner-top")["top"] == 0
            assert banner_of(page, "banner-bottom")["bottom"] == VIEWPORT["height"]

            # Every track is one the picture may hold.
            tracks: list[dict[str, Any]] = page.evaluate(
                "window.tessera.tracks().map(f => ({id: f.id, p: f.properties}))"
            )
            assert tracks
            for track in tracks:
                assert track["p"]["classification"] in expected.levels, track
                assert expected.community in track["p"]["releasable_to"], track
            track_ids[name] = {track["id"] for track in tracks}

            # The side panel: the track's label, and each lineage report's.
            track_id = confirmed_hostile_on_screen(page)
            open_track(page, track_id)
            feature = page.evaluate(
                "id => window.tessera.tracks().find(f => f.id === id).properties", track_id
            )
            shown_label = page.text_content("#track-panel [data-field='classification']") or ""
            assert LABEL.match(shown_label), shown_label
            assert shown_label.split(" ")[0] == feature["classification"]
            for community in feature["releasable_to"]:
                assert community in shown_label
            headers = page.eval_on_selector_all(
                "#lineage thead th", "hs => hs.map(h => h.textContent)"
            )
            label_column = headers.index("Label")
            rows = page.locator("#lineage tbody tr")
            assert rows.count() >= 1
            for index in range(rows.count()):
                text = rows.nth(index).locator("td").nth(label_column).text_content() or ""
                assert LABEL.match(text), text
            page.wait_for_timeout(500)
            page.screenshot(path=str(expected.screenshot))
            assert refused == []

        # The two principals are shown different pictures.
        assert track_ids["nato-officer"] != track_ids["ukr-liaison"]
    finally:
        for context in contexts:
            context.close()


def test_the_api_docs_use_the_map_session(demo: Demo, browser: Browser) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        docs = context.new_page()
        refused = csp_violations(docs)
        docs.goto(demo.url + "/static/docs.html")
        wait_for(docs, "document.getElementById('docs-message').textContent.includes('map first')")

        page = context.new_page()
        sign_in_by_link(page, demo.logins["ukr-liaison"])
        # The docs tab, with an empty sessionStorage of its own, gets the token from the map.
        wait_for(docs, "document.getElementById('docs-message').hidden")
        docs.locator(".swagger-ui .info .title").wait_for(timeout=30_000)
        assert docs.evaluate("sessionStorage.getItem('tessera.token')") is None

        page.click("#sign-out")
        wait_for(docs, "!document.getElementById('docs-message').hidden")
        assert refused == []
    finally:
        context.close()


def test_signing_out_and_an_ended_session_return_to_the_login_screen(
    demo: Demo, browser: Browser
) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        sign_in_by_link(page, demo.logins["nato-officer"])
        page.click("#sign-out")
        wait_for(page, "document.body.dataset.auth === 'signed-out'")
        assert page.evaluate("sessionStorage.getItem('tessera.token')") is None
        assert page.evaluate("window.tessera.principal") is None
        assert banner_of(page, "banner-top")["text"] == "NOT SIGNED IN"

        # A token the server no longer takes: the next call answers 401.
        page.evaluate("sessionStorage.setItem('tessera.token', 'tsr_revoked-or-expired')")
        page.reload()
        # The page starts signed out; the message comes once the server has answered.
        wait_for(
            page,
            "(document.querySelector('#login-message')?.textContent ?? '').trim() !== ''",
        )
        assert page.evaluate("document.body.dataset.auth") == "signed-out"
        assert login_message(page) == SESSION_ENDED
        assert page.evaluate("sessionStorage.getItem('tessera.token')") is None
    finally:
        context.close()
