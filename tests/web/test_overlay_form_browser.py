"""The drawing form's defaults make a valid label: a reporter without a default label of
its own (the demo's NATO officer) draws an area, names it and saves, and the first Save
succeeds with the label the form started with."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.test_login_browser import VIEWPORT
from tests.web.test_map_browser import chromium, csp_violations, running_demo, sign_in_by_link
from tests.web.test_overlays_browser import (
    STREAM_TIMEOUT_S,
    draw_area,
    field_error,
    list_item,
    overlay_named,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAME = "Assembly area KESTREL"


def test_the_first_save_of_a_drawn_area_succeeds_with_the_forms_defaults(tmp_path: Path) -> None:
    with running_demo(tmp_path / "data") as demo, chromium() as browser:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            refused = csp_violations(page)
            sign_in_by_link(page, demo.logins["nato-officer"])
            draw_area(page)
            # No default label of the officer's own: the lowest level, releasable to the
            # picture's community (NATO-SECRET is releasable to NATO).
            assert page.input_value("#overlay-classification") == "UNCLASSIFIED"
            assert page.input_value("#overlay-releasable") == "NATO"
            assert "lowest classification" in (page.text_content("#overlay-label-hint") or "")
            page.fill("#overlay-name", NAME)
            page.click("#overlay-save")
            page.locator("#overlay-form-panel").wait_for(state="hidden", timeout=15_000)
            assert field_error(page, "classification") == ""

            item = page.locator(list_item(page, NAME))
            item.wait_for(timeout=STREAM_TIMEOUT_S * 1000)
            assert (item.locator(".overlay-about").text_content() or "") == (
                "area · UNCLASSIFIED REL NATO"
            )
            overlay = overlay_named(page, NAME)
            assert overlay is not None
            assert overlay["properties"]["classification"] == "UNCLASSIFIED"
            assert overlay["properties"]["releasable_to"] == ["NATO"]
            assert refused == []
        finally:
            context.close()
