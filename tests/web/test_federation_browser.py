"""The federation links' status on the map, in a real browser during the demo (its
pictures) with a link configured whose partner is not there: the bar says none of one
link is up, and the link's state."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from tessera.security.demo import DEMO_PICTURES
from tests.web.test_basemap_browser import toml_value
from tests.web.test_login_browser import VIEWPORT
from tests.web.test_map_browser import chromium, csp_violations, running_demo, sign_in_by_link
from tests.web.test_map_browser import wait_for as wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETTINGS = """
federation_node = "north"
federation_port = 0
federation_tls = false

[[federation]]
name = "south"
peer = "127.0.0.1:9"
release = { max_classification = "RESTRICTED", releasable_to = "NATO" }
ceiling = "RESTRICTED"
"""


def test_the_bar_shows_the_federation_links(tmp_path: Path) -> None:
    config = tmp_path / "tessera.toml"
    pictures = toml_value(msgspec.to_builtins(DEMO_PICTURES))
    config.write_text(f"pictures = {pictures}\n" + SETTINGS)
    with (
        running_demo(tmp_path / "data", "--config", str(config)) as demo,
        chromium() as browser,
    ):
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            refused = csp_violations(page)
            sign_in_by_link(page, demo.logins["nato-officer"])
            wait_until(page, "document.getElementById('federation').textContent === 'links 0/1'")
            title = page.get_attribute("#federation", "title") or ""
            assert title.startswith("south: ") and "behind" in title
            assert refused == []
        finally:
            context.close()
