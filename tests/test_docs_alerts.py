"""The README's Alerts section names every rule kind, the webhook headers and the settings
as the code has them."""

from __future__ import annotations

import re
from pathlib import Path

from tessera.alerting import signing
from tessera.core.alerts.rules import AlertSettings, RuleKind

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SECTION = README.split("## Alerts\n", 1)[1].split("\n## ", 1)[0]


def test_every_rule_kind_is_in_the_table_and_nothing_else() -> None:
    table = [line for line in SECTION.splitlines() if line.startswith("| `")]
    kinds = {re.match(r"\| `([a-z-]+)`", line).group(1) for line in table}  # type: ignore[union-attr]
    assert kinds == {kind.value for kind in RuleKind}


def test_webhook_headers_and_settings_are_named_as_the_code_has_them() -> None:
    for header in (signing.SIGNATURE_HEADER, signing.DELIVERY_HEADER, signing.EVENT_HEADER):
        assert f"`{header}" in SECTION
    settings = AlertSettings()
    for name in ("webhook_backoff_s", "webhook_attempts", "webhook_queue", "tick_s"):
        assert f"`{name}`" in SECTION and hasattr(settings, name)
    assert "(1 s)" in SECTION and settings.webhook_backoff_s == 1.0
    assert "(8)" in SECTION and settings.webhook_attempts == 8
    assert "(1,000)" in SECTION and settings.webhook_queue == 1_000
