"""The sensor feeds' status on the map, in a real browser during the demo (whose feeds
run on loopback): the bar says how many are connected, and each feed's state."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.test_login_browser import VIEWPORT
from tests.web.test_map_browser import chromium, csp_violations, running_demo, sign_in_by_link
from tests.web.test_map_browser import wait_for as wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_bar_shows_the_feeds(tmp_path: Path) -> None:
    with running_demo(tmp_path / "data") as demo, chromium() as browser:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            refused = csp_violations(page)
            sign_in_by_link(page, demo.logins["nato-officer"])
            wait_until(page, "document.getElementById('feeds').textContent === 'feeds 3/3'")
            title = page.get_attribute("#feeds", "title") or ""
            for name in ("coast-ais (ais)", "adsb-sbs (adsb-sbs)", "uav-mavlink (mavlink)"):
                assert name in title
            assert "msg/s" in title
            assert refused == []
        finally:
            context.close()
