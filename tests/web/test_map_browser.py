"""The map in a real browser (Debian's chromium through Playwright) during a live exercise:
signed in by a login link, symbols drawn, one clicked, its side panel filled. Takes the
README's screenshot (into docs/ only under `make screenshots`). The helpers here serve the
other browser tests too."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
# Screenshots go to a scratch folder: tests never rewrite tracked files. `make screenshots`
# points this at docs/ to refresh the README's pictures.
DOCS = Path(
    os.environ.get("TESSERA_SCREENSHOTS") or Path(tempfile.gettempdir()) / "tessera-screenshots"
)
DOCS.mkdir(parents=True, exist_ok=True)
SCREENSHOT = DOCS / "screenshot.png"
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
DEMO_PRINCIPALS = ("nato-officer", "ukr-liaison")
IDENTITIES = {"friend", "assumed-friend", "neutral", "unknown", "pending", "suspect", "hostile"}
STARTUP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Demo:
    """A running `tessera demo`: its address and a login link per demo principal."""

    url: str
    logins: dict[str, str]
    # Every port it announced, by kind ("cot-tls", "tak-enroll", ...).
    ports: dict[str, int] = field(default_factory=dict)


def demo_command(data: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tessera.cli",
        "demo",
        "--data",
        str(data),
        "--http-port",
        "0",
        "--cot-tls-port",
        "0",
        "--tak-enrollment-port",
        "0",
        "--seed",
        "1",
        "--rate",
        "300",
        "--log-level",
        "warning",
        *extra,
    ]


def require_chromium() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (make test installs it)")
        pytest.skip("chromium is not installed")


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    # Reads stdout to the end, so the server never blocks on a full pipe.
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _read_demo_lines(lines: queue.Queue[str | None]) -> Demo:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    url: str | None = None
    logins: dict[str, str] = {}
    ports: dict[str, int] = {}
    while url is None or not set(DEMO_PRINCIPALS) <= logins.keys():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"the demo printed no URL and login links: {url}, {logins}")
        line = lines.get(timeout=remaining)
        if line is None:
            raise AssertionError(f"the demo stopped before printing its login links: {logins}")
        if url is None:
            assert line.startswith("listening http "), line
            url = "http://" + line.removeprefix("listening http ")
        elif line.startswith("listening "):
            _, kind, address = line.split(" ", 2)
            ports[kind] = int(address.rsplit(":", 1)[1])
        elif line.startswith("login "):
            _, name, link = line.split(" ", 2)
            assert link.startswith(url + "/#token="), line
            logins[name] = link
    return Demo(url=url, logins=logins, ports=ports)


@contextmanager
def running_demo(data: Path, *extra: str) -> Iterator[Demo]:
    """`tessera demo`, given ``extra`` options (a --config, say) after the usual ones."""
    require_chromium()
    process = subprocess.Popen(
        demo_command(data, *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
    reader.start()
    try:
        yield _read_demo_lines(lines)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            reader.join(timeout=10)
            process.stdout.close()


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    with running_demo(tmp_path / "data") as running:
        yield running


def wait_for(page: Page, expression: str, timeout_s: float = 60.0) -> None:
    # As a function: Playwright polls a bare expression with eval(), which the page's
    # Content-Security-Policy (no 'unsafe-eval') refuses.
    page.wait_for_function(f"() => ({expression})", timeout=timeout_s * 1000)


def csp_violations(page: Page) -> list[str]:
    """Collects, from now on, what the page's Content-Security-Policy refused."""
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refused


def sign_in_by_link(page: Page, link: str) -> None:
    """Opens a login link and waits until the live picture is drawn."""
    page.goto(link)
    wait_for(page, "window.tessera && window.tessera.ready")
    wait_for(page, "document.body.dataset.symbols === 'drawn'")
    wait_for(page, "window.tessera.trackCount() > 0")


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


def open_track(page: Page, track_id: str) -> None:
    """Clicks a track's symbol and waits for its side panel."""
    position = page.evaluate("id => window.tessera.screenPositionOf(id)", track_id)
    page.mouse.click(position["x"], position["y"])
    page.locator("#track-panel").wait_for(state="visible", timeout=15_000)
    page.locator("#lineage tbody tr").first.wait_for(timeout=15_000)


def test_map_draws_live_symbols_and_shows_a_track(demo: Demo) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        refused = csp_violations(page)
        sign_in_by_link(page, demo.logins["nato-officer"])
        wait_for(page, "window.tessera.trackCount() > 100")
        wait_for(page, "document.getElementById('connection').textContent === 'connected'")
        # The token left the address bar and is kept for this tab only.
        assert "token" not in page.url
        assert page.evaluate("sessionStorage.getItem('tessera.token')", None).startswith("tsr_")
        assert page.text_content("#principal") == "nato-officer"

        track_id = confirmed_hostile_on_screen(page)
        open_track(page, track_id)
        panel = page.locator("#track-panel")
        identity = panel.locator("[data-field='identity']").text_content() or ""
        status = panel.locator("[data-field='status']").text_content() or ""
        assert identity.split(" ")[0] in IDENTITIES
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
        assert refused == []
