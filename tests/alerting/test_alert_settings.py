"""``[alerts]`` in the settings: rules and webhooks checked when the settings load."""

from __future__ import annotations

from typing import Any

import pytest

from tessera.settings import load_settings

HOOK = {"name": "ops", "url": "https://ops.example.org/h", "secret": "s" * 16, "picture": "COP"}


def test_good_alert_settings_load() -> None:
    rule = {"id": "r1", "picture": "COP", "kind": "proximity", "distance_km": 2.5}
    settings = load_settings(alerts={"rules": [rule], "webhooks": [HOOK]})
    assert settings.alerts.rules[0].distance_km == 2.5
    assert settings.alerts.webhooks[0].name == "ops"


@pytest.mark.parametrize(
    ("alerts", "said"),
    [
        ({"rules": [{"id": "r", "picture": "NOPE", "kind": "new-hostile"}]}, "no picture named"),
        ({"rules": [{"id": "r", "picture": "COP", "kind": "dwell"}]}, "needs an area"),
        ({"rules": [{"id": "r", "picture": "COP", "kind": "lost"}]}, "needs lost_after_s"),
        (
            {"rules": [{"id": "r", "picture": "COP", "kind": "emergency"}] * 2},
            "rule ids must be distinct",
        ),
        ({"webhooks": [HOOK | {"secret": "short"}]}, "16 characters"),
        ({"webhooks": [HOOK | {"url": "ftp://x"}]}, "http:// or https://"),
        ({"webhook_attempts": 0}, "at least 1"),
        ({"tick_s": 0}, "tick_s"),
        ({"rules": [{"id": "r", "picture": "COP", "kind": "sometimes"}]}, "kind"),
    ],
)
def test_bad_alert_settings_are_refused_naming_what(alerts: dict[str, Any], said: str) -> None:
    with pytest.raises(ValueError, match=said):
        load_settings(alerts=alerts)
