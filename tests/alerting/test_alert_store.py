"""The alert store: rules, alerts and acknowledgements kept across a reopen, and listed by
picture and time window (what the after-action export reads)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from tessera.alerting.model import Acknowledgement, Alert
from tessera.alerting.sqlite import SqliteAlertStore, alert_store_path
from tessera.core.alerts.rules import AlertRule, RuleKind
from tessera.core.model import Label

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def alert(number: int, picture: str = "NATO") -> Alert:
    return Alert(
        id=f"al-{number}",
        picture=picture,
        rule_id="r",
        kind=RuleKind.LOST,
        title="lost",
        track_id=f"t{number}",
        label=Label("SECRET", ("NATO",)),
        lat=50.0,
        lon=10.0,
        raised_at=T0 + timedelta(minutes=number),
    )


def test_kept_and_listed_by_window(tmp_path: Path) -> None:
    path = alert_store_path(tmp_path)
    store = SqliteAlertStore(path)
    store.open()
    store.put_rule(AlertRule(id="r", picture="NATO", kind=RuleKind.LOST, lost_after_s=60.0))
    for number in range(5):
        store.save(alert(number))
    store.save(alert(9, picture="UKR"))
    cleared = msgspec.structs.replace(alert(1), cleared_at=T0 + timedelta(minutes=3))
    store.save(cleared)
    acked = msgspec.structs.replace(alert(2), acknowledged_at=T0, acknowledged_by="x")
    store.acknowledge(
        Acknowledgement(alert_id="al-2", picture="NATO", by="x", at=T0 + timedelta(minutes=6)),
        acked,
    )
    store.close()

    store = SqliteAlertStore(path)
    store.open()
    try:
        assert [r.id for r in store.rules()] == ["r"]
        window = store.alerts("NATO", since=T0 + timedelta(minutes=1), until=T0 + timedelta(3))
        assert [a.id for a in window] == ["al-1", "al-2", "al-3", "al-4"]
        assert [a.id for a in store.alerts("NATO", limit=2)] == ["al-3", "al-4"]
        assert "al-1" not in [a.id for a in store.alerts("NATO", active_only=True)]
        assert [a.id for a in store.alerts("UKR")] == ["al-9"]
        assert store.alert("al-2") == acked
        acks = store.acknowledgements("NATO", since=T0 + timedelta(minutes=5))
        assert [(a.alert_id, a.by) for a in acks] == [("al-2", "x")]
        assert store.acknowledgements("NATO", until=T0 + timedelta(minutes=5)) == []
        assert store.delete_rule("r") and not store.delete_rule("r")
    finally:
        store.close()
