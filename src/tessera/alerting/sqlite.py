"""Alert rules, alerts and acknowledgements in SQLite (``alerts.sqlite3`` in the data
folder; ``:memory:`` for none)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import msgspec

from tessera.alerting.base import AlertStore
from tessera.alerting.model import Acknowledgement, Alert
from tessera.core.alerts.rules import AlertRule
from tessera.wal_files import WalFile

FILE_NAME: Final = "alerts.sqlite3"
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS alert_rules (id TEXT PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, picture TEXT NOT NULL, raised_at TEXT NOT NULL,
    active INTEGER NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (picture, raised_at);
CREATE INDEX IF NOT EXISTS alerts_open ON alerts (active);
CREATE TABLE IF NOT EXISTS alert_acks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, alert_id TEXT NOT NULL, picture TEXT NOT NULL,
    at TEXT NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS acks_by_time ON alert_acks (picture, at);
"""


def alert_store_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def _when(moment: datetime) -> str:
    """Sortable text: UTC, fixed width."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SqliteAlertStore(WalFile, AlertStore):
    def __init__(self, path: Path | str) -> None:
        # Owner-only, like the rest of the data folder (alerts carry labelled text);
        # durable at each checkpoint of the WAL: an alert is judged again after a crash.
        super().__init__(path, what="alert store", schema=_SCHEMA, synchronous="NORMAL")

    def rules(self) -> list[AlertRule]:
        rows = self.db.execute("SELECT body FROM alert_rules ORDER BY id").fetchall()
        return [msgspec.json.decode(body, type=AlertRule) for (body,) in rows]

    def put_rule(self, rule: AlertRule) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO alert_rules (id, body) VALUES (?, ?)",
            (rule.id, msgspec.json.encode(rule)),
        )

    def delete_rule(self, rule_id: str) -> bool:
        return self.db.execute("DELETE FROM alert_rules WHERE id = ?", (rule_id,)).rowcount > 0

    def save(self, alert: Alert) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO alerts (id, picture, raised_at, active, body) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                alert.id,
                alert.picture,
                _when(alert.raised_at),
                int(alert.active),
                msgspec.json.encode(alert),
            ),
        )

    def save_all(self, alerts: Sequence[Alert]) -> None:
        if not alerts:
            return
        with self.db:
            self.db.execute("BEGIN")
            for alert in alerts:
                self.save(alert)

    def alert(self, alert_id: str) -> Alert | None:
        row = self.db.execute("SELECT body FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return None if row is None else msgspec.json.decode(row[0], type=Alert)

    def alerts(
        self,
        picture: str,
        *,
        active_only: bool = False,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[Alert]:
        sql = "SELECT body FROM alerts WHERE picture = ?"
        args: list[object] = [picture]
        if active_only:
            sql += " AND active = 1"
        if since is not None:
            sql += " AND raised_at >= ?"
            args.append(_when(since))
        if until is not None:
            sql += " AND raised_at < ?"
            args.append(_when(until))
        sql += " ORDER BY raised_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = self.db.execute(sql, args).fetchall()
        return [msgspec.json.decode(body, type=Alert) for (body,) in reversed(rows)]

    def open_alerts(self) -> list[Alert]:
        rows = self.db.execute("SELECT body FROM alerts WHERE active = 1 ORDER BY id").fetchall()
        return [msgspec.json.decode(body, type=Alert) for (body,) in rows]

    def acknowledge(self, ack: Acknowledgement, alert: Alert) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT INTO alert_acks (alert_id, picture, at, body) VALUES (?, ?, ?, ?)",
                (ack.alert_id, ack.picture, _when(ack.at), msgspec.json.encode(ack)),
            )
            self.save(alert)

    def acknowledgements(
        self, picture: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[Acknowledgement]:
        sql = "SELECT body FROM alert_acks WHERE picture = ?"
        args: list[object] = [picture]
        if since is not None:
            sql += " AND at >= ?"
            args.append(_when(since))
        if until is not None:
            sql += " AND at < ?"
            args.append(_when(until))
        rows = self.db.execute(sql + " ORDER BY at, seq", args).fetchall()
        return [msgspec.json.decode(body, type=Acknowledgement) for (body,) in rows]
