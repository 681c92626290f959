"""The map in a real browser (Debian's chromium through Playwright) during a live exercise:
symbols drawn, one clicked, its side panel filled. Saves the README's screenshot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"
# Software WebGL in a headless, sandbox-less browser on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def demo_url(tmp_path: Path) -> Iterator[str]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (make test installs it)")
        pytest.skip("chromium is not installed")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tessera.cli",
            "demo",
            "--data",
            str(tmp_path / "data"),
            "--http-port",
            "0",
            "--seed",
            "1",
            "--rate",
            "300",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening http "), line
        yield "http://" + line.removeprefix("listening http ")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
            if process.stdout is not None:
                process.stdout.close()


def wait_for(page: Page, expression: str, timeout_s: float = 60.0) -> None:
    page.wait_for_function(expression, timeout=timeout_s * 1000)


def confirmed_hostile_on_screen(page: Page) -> str:
    """A drawn track, preferably a confirmed hostile one fused from several reports."""
    deadline = time.monotonic() + 60
    while True:
        track_id: str | None = page.evaluate(
            """() => {
                const drawn = new Set(window.tessera.renderedTrackIds());
                const onScreen = window.tessera.tracks().filter(f => drawn.has(f.id));
                const pick = onScreen.find(f => f.properties.status === "confirmed" &&
                    f.properties.identity === "hostile" && f.properties.report_count > 2);
                return pick ? pick.id : (time_is_up ? onScreen[0]?.id ?? null : null);
            }""".replace("time_is_up", "true" if time.monotonic() > deadline else "false")
        )
        if track_id is not None:
            return track_id
        page.wait_for_timeout(500)


def test_map_draws_live_symbols_and_shows_a_track(demo_url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(demo_url + "/")
            wait_for(page, "window.tessera && window.tessera.ready")
            wait_for(page, "document.body.dataset.symbols === 'drawn'")
            wait_for(page, "window.tessera.trackCount() > 100")
            assert page.text_content("#connection") == "connected"

            track_id = confirmed_hostile_on_screen(page)
            position = page.evaluate("id => window.tessera.screenPositionOf(id)", track_id)
            page.mouse.click(position["x"], position["y"])
            panel = page.locator("#track-panel")
            panel.wait_for(state="visible", timeout=15_000)
            identity = panel.locator("[data-field='identity']").text_content() or ""
            status = panel.locator("[data-field='status']").text_content() or ""
            assert identity.split(" ")[0] in {
                "friend",
                "assumed-friend",
                "neutral",
                "unknown",
                "pending",
                "suspect",
                "hostile",
            }
            assert status in {"tentative", "confirmed", "coasting"}
            assert panel.locator("#lineage tbody tr").count() >= 1

            # The counter follows the identity filter.
            before = page.evaluate("window.tessera.trackCount()")
            page.uncheck("#identity-filters input[value='friend']")
            assert page.evaluate("window.tessera.trackCount()") < before
            page.check("#identity-filters input[value='friend']")

            page.wait_for_timeout(500)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
        finally:
            browser.close()
