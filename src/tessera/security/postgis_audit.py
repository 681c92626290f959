"""The PostGIS security store's audit trail: appending events in commit order and reading
them through a filter (the indexes are migration 0004's).

Kept apart from ``postgis.py``; ``PostgisSecurityStore`` runs these on its connection.
Actions are compared in the "C" collation, byte by byte, whatever the database's own: a
prefix is then exactly a range, and the action index serves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec
import psycopg
from psycopg.rows import TupleRow

from tessera.security.audit_filter import (
    AuditFilter,
    AuditSql,
    audit_event,
    audit_select,
    require_aware,
)
from tessera.security.base import AuditEvent

Connection = psycopg.AsyncConnection[TupleRow]

# Conflicts with itself and with inserts, not with reads.
_LOCK: Final = "LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE"
_INSERT: Final = (
    "INSERT INTO audit (at, principal, action, outcome, target, address, detail) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s::json) RETURNING seq"
)
_NUL: Final = "\x00"


def _recorded(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refusing the event would stall the audit trail's
    # retries, so the character is written as U+FFFD instead (and looked for as such).
    return value.replace(_NUL, "\ufffd")


_SQL: Final = AuditSql(
    select="SELECT seq, at, principal, action, outcome, target, address, detail::text FROM audit ",
    after="seq > %s",
    since="at >= %s",
    until="at < %s",
    action='action COLLATE "C" = %s',
    action_range='action COLLATE "C" >= %s AND action COLLATE "C" < %s',
    principal="principal = %s",
    outcome="outcome = %s",
    order=" ORDER BY seq LIMIT %s",
    time=require_aware,
    text=_recorded,
)


def rows(events: Sequence[AuditEvent]) -> list[tuple[Any, ...]]:
    """The events' rows, made (and their times checked) before any connection is used."""
    return [_row(event) for event in events]


async def append(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """Insert the rows in order, in one transaction under the table lock, so sequence
    numbers follow commit order across processes; their sequence numbers."""
    async with conn.transaction():
        await conn.execute(_LOCK)
        async with conn.cursor() as cursor:
            await cursor.executemany(_INSERT, rows, returning=True)
            # One result per INSERT ... RETURNING, in the order given.
            return [int((await _fetched(result))[0]) async for result in cursor.results()]


def select(where: AuditFilter, after_seq: int, limit: int) -> tuple[str, list[Any]]:
    """The query for one page of the filtered trail, and its parameters."""
    return audit_select(_SQL, where, after_seq, limit)


def event_of(row: TupleRow) -> AuditEvent:
    return audit_event(row, row[1])


async def _fetched(cursor: psycopg.AsyncCursor[TupleRow]) -> TupleRow:
    row = await cursor.fetchone()
    assert row is not None  # each INSERT ... RETURNING gives one row
    return row


def _row(event: AuditEvent) -> tuple[Any, ...]:
    return (
        require_aware(event.at),
        None if event.principal is None else _recorded(event.principal),
        _recorded(event.action),
        _recorded(event.outcome),
        _recorded(event.target),
        _recorded(event.address),
        # Escaped by the encoder (\u0000), which the json column keeps as it is.
        msgspec.json.encode(event.detail).decode(),
    )
