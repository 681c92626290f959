"""The SQLite security store's audit trail: appending events and reading them through a
filter, and the indexes the filters use (schema version 3).

Kept apart from ``sqlite.py`` as ``certstore.py`` is; ``SqliteSecurityStore`` calls these
inside its own transactions. The table itself is part of schema version 1.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Final

import msgspec

from tessera.security.audit_filter import AuditFilter, AuditSql, audit_select
from tessera.security.base import AuditEvent
from tessera.security.sqlite_rows import audit_from_row, aware_us

# Each index ends with the rowid (seq) on its own, so "this action, after seq N, in seq
# order" is one range of one index, however long the trail.
AUDIT_FILTER_INDEXES: Final = """
CREATE INDEX IF NOT EXISTS audit_by_action ON audit (action);
CREATE INDEX IF NOT EXISTS audit_by_principal ON audit (principal);
CREATE INDEX IF NOT EXISTS audit_by_outcome ON audit (outcome);
"""
_INSERT: Final = (
    "INSERT INTO audit (at_us, principal, action, outcome, target, address, detail) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# Told rare, or SQLite walks the whole trail in seq order to spare itself a sort: a family
# of actions asked for is most often a small part of the trail.
_SQL: Final = AuditSql(
    select="SELECT seq, at_us, principal, action, outcome, target, address, detail FROM audit ",
    after="seq > ?",
    since="at_us >= ?",
    until="at_us < ?",
    action="action = ?",
    action_range="likelihood(action >= ?, 0.01) AND likelihood(action < ?, 0.01)",
    principal="principal = ?",
    outcome="outcome = ?",
    order=" ORDER BY seq LIMIT ?",
    time=aware_us,
    text=str,
)


def rows(events: Sequence[AuditEvent]) -> list[tuple[Any, ...]]:
    """The events' rows, made (and their times checked) before any transaction starts."""
    return [
        (
            aware_us(event.at),
            event.principal,
            event.action,
            event.outcome,
            event.target,
            event.address,
            msgspec.json.encode(event.detail),
        )
        for event in events
    ]


def insert(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """Insert the rows in order; their sequence numbers."""
    seqs: list[int] = []
    for row in rows:
        cursor = conn.execute(_INSERT, row)
        assert cursor.lastrowid is not None
        seqs.append(cursor.lastrowid)
    return seqs


def read(
    conn: sqlite3.Connection, where: AuditFilter, after_seq: int, limit: int
) -> list[AuditEvent]:
    query, parameters = select(where, after_seq, limit)
    return [audit_from_row(row) for row in conn.execute(query, parameters).fetchall()]


def select(where: AuditFilter, after_seq: int, limit: int) -> tuple[str, list[Any]]:
    """The query for one page of the filtered trail, and its parameters."""
    return audit_select(_SQL, where, after_seq, limit)
