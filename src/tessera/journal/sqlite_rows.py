"""How the SQLite journal holds its entries: the table, a row per entry (its id the
report's, or the overlay revision's under a prefix), and the entries read back."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Final, Literal

import msgspec

from tessera.codecs.json import decode_stored_report, encode, encode_report
from tessera.codecs.overlay_json import decode_stored_revision
from tessera.core.model import Report
from tessera.journal.base import JournalEntry, JournalItem

_TABLE: Final = """
CREATE TABLE IF NOT EXISTS {name} (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('report', 'overlay', 'tick')),
    id TEXT UNIQUE,
    received_us INTEGER NOT NULL,
    body BLOB
);
"""
SCHEMA: Final = _TABLE.format(name="journal")
# Overlay revisions share the id column with reports; the prefix (outside the identifier
# alphabet) keeps a revision from ever being taken for a report of the same id.
_REVISION_PREFIX: Final = "overlay/"


def key_of(item: JournalItem) -> str:
    return item.id if isinstance(item, Report) else _REVISION_PREFIX + item.id


def allow_overlays(conn: sqlite3.Connection) -> None:
    """Journals written before overlays allowed only reports and ticks. SQLite cannot
    alter a CHECK constraint, so the table is copied into the new shape, once."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_TABLE.format(name="journal_v2"))
        conn.execute("INSERT INTO journal_v2 SELECT seq, kind, id, received_us, body FROM journal")
        conn.execute("DROP TABLE journal")
        conn.execute("ALTER TABLE journal_v2 RENAME TO journal")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def stamped(
    seq: int, key: str, item: JournalItem, received_at: datetime, received_us: int
) -> tuple[tuple[int, str, str | None, int, bytes | None], JournalEntry]:
    """The row to insert and the entry fusion sees, with the receipt time stamped in."""
    if isinstance(item, Report):
        report = msgspec.structs.replace(item, received_at=received_at)
        return (seq, "report", key, received_us, encode_report(report)), JournalEntry(
            seq, received_at, report
        )
    revision = item
    if item.overlay is not None:
        overlay = msgspec.structs.replace(item.overlay, updated_at=received_at)
        revision = msgspec.structs.replace(item, overlay=overlay)
    row = (seq, "overlay", key, received_us, encode(revision))
    return row, JournalEntry(seq, received_at, None, revision)


def entry_of(seq: int, kind: str, received_at: datetime, body: bytes | None) -> JournalEntry:
    if body is None:
        return JournalEntry(seq, received_at, None)
    if kind == "overlay":
        return JournalEntry(seq, received_at, None, decode_stored_revision(body))
    return JournalEntry(seq, received_at, decode_stored_report(body))


def seqs_by_id(
    conn: sqlite3.Connection,
    table: Literal["journal", "journal_kept_keys"],
    ids: list[str],
    chunk: int,
) -> dict[str, int]:
    """The seq of each of ``ids`` found in ``table`` (the journal, or the kept keys of
    entries trimmed away), asked ``chunk`` ids at a time."""
    found: dict[str, int] = {}
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        marks = ",".join("?" * len(part))
        query = f"SELECT id, seq FROM {table} WHERE id IN ({marks})"  # noqa: S608 - a fixed table
        for key, seq in conn.execute(query, part):
            found[str(key)] = int(seq)
    return found
