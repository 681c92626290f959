"""Alerts on the map, in a real browser during a live exercise: the NATO officer makes a
"new hostile" rule in the alerts panel; alerts appear live from the stream (with a sound,
which the mute box silences), and one acknowledged from the panel is acknowledged for the
server too (by that officer, on the audit trail)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.test_login_browser import VIEWPORT
from tests.web.test_map_browser import chromium, csp_violations, running_demo, sign_in_by_link
from tests.web.test_map_browser import wait_for as wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIRST = "#alert-list li.new"


def test_an_alert_appears_and_is_acknowledged(tmp_path: Path) -> None:
    with running_demo(tmp_path / "data") as demo, chromium() as browser:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            refused = csp_violations(page)
            sign_in_by_link(page, demo.logins["nato-officer"])
            assert page.is_visible("#alert-rule-form")
            assert page.text_content("#alert-count") == "0"
            page.select_option("#alert-rule-kind", "new-hostile")
            assert page.is_hidden("#alert-rule-area-row")
            page.fill("#alert-rule-name", "Watch for new hostiles")
            page.click("#alert-rule-save")
            page.locator("#alert-rule-list li", has_text="Watch for new hostiles").wait_for()
            page.locator(FIRST).first.wait_for(timeout=60_000)
            wait_until(page, "Number(document.body.dataset.alertSounds ?? 0) > 0")
            title = page.locator(f"{FIRST} strong").first.text_content() or ""
            assert title.startswith("Watch for new hostiles: ")
            alert_id = page.locator(FIRST).first.get_attribute("data-alert-id")
            assert alert_id is not None

            page.click(f"#alert-list li[data-alert-id='{alert_id}'] .alert-ack")
            done = f"#alert-list li.acknowledged[data-alert-id='{alert_id}']"
            page.locator(done).wait_for(timeout=15_000)
            assert "acknowledged by nato-officer" in (page.text_content(done) or "")
            listed = page.evaluate(
                """async (id) => {
                    const token = sessionStorage.getItem("tessera.token");
                    const answer = await fetch("/api/v1/alerts?picture=NATO-SECRET&limit=5000",
                        {headers: {Authorization: `Bearer ${token}`}});
                    return (await answer.json()).alerts.find((alert) => alert.id === id);
                }""",
                alert_id,
            )
            assert listed["acknowledged_by"] == "nato-officer"

            # Muted: the choice is kept (in localStorage), and no sound is made for it.
            page.check("#alert-mute")
            sounds = page.evaluate("Number(document.body.dataset.alertSounds ?? 0)")
            assert page.evaluate("localStorage.getItem('tessera.alerts.muted')") == "1"
            assert page.evaluate("Number(document.body.dataset.alertSounds ?? 0)") == sounds
            # The rule, deleted from the panel, is gone for the server too.
            rule = "#alert-rule-list li:has-text('Watch for new hostiles')"
            page.click(f"{rule} .alert-rule-delete")
            page.locator(rule).wait_for(state="detached", timeout=15_000)
            assert refused == []
        finally:
            context.close()
