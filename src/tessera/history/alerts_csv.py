"""A time window's alerts and their acknowledgements as CSV, for after-action review: one
row per event (``raised``, ``cleared``, ``acknowledged``), oldest first. Text that a
spreadsheet would take for a formula (= + - @ and control characters first) is quoted
with a leading apostrophe, so opening the file runs nothing. Pure: no I/O."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from tessera.alerting.model import Acknowledgement, Alert
from tessera.history.kml_window import iso

COLUMNS: Final = (
    "time",
    "event",
    "alert_id",
    "picture",
    "rule_id",
    "kind",
    "title",
    "track_id",
    "track_name",
    "lat",
    "lon",
    "classification",
    "releasable_to",
    "by",
    "note",
)
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def write_alerts_csv(
    alerts: Sequence[Alert],
    acknowledgements: Sequence[Acknowledgement],
    start: datetime,
    end: datetime,
) -> bytes:
    """Events of ``alerts`` within [start, end], and ``acknowledgements`` of them."""
    by_id = {alert.id: alert for alert in alerts}
    rows: list[tuple[datetime, int, list[str]]] = []
    for alert in alerts:
        if start <= alert.raised_at <= end:
            rows.append((alert.raised_at, 0, _row(alert.raised_at, "raised", alert)))
        if alert.cleared_at is not None and start <= alert.cleared_at <= end:
            rows.append((alert.cleared_at, 2, _row(alert.cleared_at, "cleared", alert)))
    for ack in acknowledgements:
        acknowledged = by_id.get(ack.alert_id)
        if acknowledged is not None and start <= ack.at <= end:
            row = _row(ack.at, "acknowledged", acknowledged, ack.by, ack.note)
            rows.append((ack.at, 1, row))
    rows.sort(key=lambda row: (row[0], row[1], row[2][2]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(row for _, _, row in rows)
    return out.getvalue().encode("utf-8")


def _row(at: datetime, event: str, alert: Alert, by: str = "", note: str = "") -> list[str]:
    label = alert.label
    return [
        iso(at),
        event,
        alert.id,
        alert.picture,
        _safe(alert.rule_id),
        alert.kind.value,
        _safe(alert.title),
        alert.track_id,
        _safe(alert.track_name or ""),
        f"{alert.lat:.6f}",
        f"{alert.lon:.6f}",
        label.classification,
        " ".join(label.releasable_to),
        _safe(by),
        _safe(note),
    ]


def _safe(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
