"""A browser GIS client on another origin reading /ogc, in a real browser: a page of a
listed origin reads with its token (and reads its refusal without one); a page of any
other origin reads nothing, token or not."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import pytest
from playwright.sync_api import Page, Route

from tests.support import live_server
from tests.web.test_map_browser import chromium, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GIS: Final = "https://gis.example.org"
ELSEWHERE: Final = "https://elsewhere.example.org"
# Served from an https origin: only a secure context may reach a local network at all.
PAGE: Final = "<!doctype html><title>a web GIS client</title>"
# What a client's fetch of a URL with a token (or none) gives the page: the status and
# the collections' ids, or the error a browser makes of a cross-origin refusal.
FETCH: Final = """async ([url, token]) => {
    const headers = token ? {Authorization: `Bearer ${token}`} : {};
    try {
        const answer = await fetch(url, {headers});
        const body = await answer.json();
        return {status: answer.status, ids: (body.collections || []).map(c => c.id)};
    } catch (error) {
        return {error: String(error)};
    }
}"""


@contextmanager
def serving(data: Path, **overrides: Any) -> Iterator[tuple[str, str]]:
    """A live server in a thread of its own (Playwright's sync API wants this one): its
    address and the admin's token."""
    started: dict[str, Any] = {}
    ready = threading.Event()

    async def main() -> None:
        stop = asyncio.Event()
        async with live_server(data, **overrides) as live:
            started.update(server=(live.base_url, live.token), stop=stop)
            started["loop"] = asyncio.get_running_loop()
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    try:
        assert ready.wait(60), "the server did not start"
        yield started["server"]
    finally:
        if "loop" in started:
            started["loop"].call_soon_threadsafe(started["stop"].set)
        thread.join(60)


def page_on(page: Page, origin: str) -> None:
    """Open a blank page as if served by ``origin``."""

    def fulfil(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=PAGE)

    page.route(f"{origin}/**", fulfil)
    page.goto(f"{origin}/client.html")


def test_a_web_gis_client_on_a_listed_origin_reads_ogc_with_its_token(tmp_path: Path) -> None:
    require_chromium()
    with serving(tmp_path / "data", cors_origins=[GIS]) as (base_url, token):
        url = f"{base_url}/ogc/collections"
        with chromium() as browser:
            # A page on a public origin reaching the loopback: the browser asks its user
            # first (Local Network Access), as it would for a server on a private network.
            context = browser.new_context(permissions=["local-network-access"])
            page = context.new_page()
            page_on(page, GIS)
            read = page.evaluate(FETCH, [url, token])
            assert read.get("status") == 200, read
            assert "COP-tracks" in read["ids"]
            assert page.evaluate(FETCH, [url, ""]) == {"status": 401, "ids": []}

            other = context.new_page()
            page_on(other, ELSEWHERE)
            for given in (token, ""):
                assert "error" in other.evaluate(FETCH, [url, given])
