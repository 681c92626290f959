"""Retention of the SQLite journal: dropping the oldest entries (by age and size, never
past what saved states cover), keeping a dropped report's key in a compact table so a
retry is still answered as a repeat, and giving the space back to the file system.

Runs on the journal's writer thread, one bounded step at a time: appends waiting meanwhile
go between the steps.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Final

import msgspec

from tessera.journal.base import Retention

# A dropped entry's id (report or overlay revision key), its seq and received time: tens
# of bytes where the entry took about a kilobyte. Bounded by the de-duplication window.
KEPT_KEYS: Final = """
CREATE TABLE IF NOT EXISTS journal_kept_keys (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    received_us INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS journal_kept_keys_received ON journal_kept_keys (received_us);
"""
# Rows dropped per transaction: appends wait on one step at most (tens of ms).
STEP_ROWS: Final = 5_000
# Per-row cost beside the body (seq, kind, id, time, b-tree cells), for the size bound.
ROW_OVERHEAD: Final = 64
_US: Final = 1_000_000


class TrimStep(msgspec.Struct, frozen=True):
    """One step's outcome: entries dropped, the first seq held after it, whether more
    remains to drop."""

    dropped: int
    first_held: int
    more: bool


class TrimRequest:
    """A trim asked for, done in steps on the writer thread."""

    __slots__ = ("bound", "covered", "dropped", "future")

    def __init__(self, covered: int, future: asyncio.Future[int]) -> None:
        self.covered = covered
        self.future = future
        self.dropped = 0
        self.bound: int | None = None  # the last seq to drop, found at the first step


def step(
    conn: sqlite3.Connection, retention: Retention, request: TrimRequest, last_seq: int, now_us: int
) -> TrimStep:
    """The next step of ``request``."""
    if request.bound is None:
        request.bound = drop_bound(
            conn, retention, covered=request.covered, last_seq=last_seq, now_us=now_us
        )
    done = trim_step(conn, retention, bound=request.bound, last_seq=last_seq, now_us=now_us)
    request.dropped += done.dropped
    return done


def first_held(conn: sqlite3.Connection, last_seq: int) -> int:
    row = conn.execute("SELECT min(seq) FROM journal").fetchone()
    return int(row[0]) if row and row[0] is not None else last_seq + 1


def drop_bound(
    conn: sqlite3.Connection, retention: Retention, *, covered: int, last_seq: int, now_us: int
) -> int:
    """The last seq the retention settings let go (0 for none): never past ``covered``,
    and never the newest entry (it carries the sequence and the clock on at a restart)."""
    limit = min(covered, last_seq - 1)
    first = first_held(conn, last_seq)
    if limit < first:
        return 0
    bound = 0
    if retention.max_age_s is not None:
        cutoff = now_us - int(retention.max_age_s * _US)
        # Received times increase with seq: the first young entry ends the old ones.
        row = conn.execute(
            "SELECT seq FROM journal WHERE received_us >= ? ORDER BY seq LIMIT 1", (cutoff,)
        ).fetchone()
        bound = max(bound, (int(row[0]) - 1) if row else last_seq)
    if retention.max_bytes is not None:
        bound = max(bound, _size_bound(conn, retention.max_bytes, limit))
    return min(bound, limit)


def _size_bound(conn: sqlite3.Connection, max_bytes: int, limit: int) -> int:
    """The last seq to drop for the file's used pages to fit ``max_bytes``."""
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    excess = (pages - free) * page_size - max_bytes
    if excess <= 0:
        return 0
    freed = 0
    bound = 0
    rows = conn.execute(
        "SELECT seq, coalesce(length(body), 0) + length(coalesce(id, '')) FROM journal "
        "WHERE seq <= ? ORDER BY seq",
        (limit,),
    )
    for seq, size in rows:
        freed += int(size) + ROW_OVERHEAD
        bound = int(seq)
        if freed >= excess:
            break
    return bound


def trim_step(
    conn: sqlite3.Connection, retention: Retention, *, bound: int, last_seq: int, now_us: int
) -> TrimStep:
    """Drop at most STEP_ROWS entries up to ``bound`` in one transaction, keeping their
    keys; forget keys past the de-duplication window; give freed pages back."""
    first = first_held(conn, last_seq)
    upto = min(bound, first + STEP_ROWS - 1)
    dropped = 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        if upto >= first:
            conn.execute(
                "INSERT OR IGNORE INTO journal_kept_keys (id, seq, received_us) "
                "SELECT id, seq, received_us FROM journal WHERE seq <= ? AND id IS NOT NULL",
                (upto,),
            )
            dropped = conn.execute("DELETE FROM journal WHERE seq <= ?", (upto,)).rowcount
        if retention.dedup_window_s is not None:
            cutoff = now_us - int(retention.dedup_window_s * _US)
            conn.execute("DELETE FROM journal_kept_keys WHERE received_us < ?", (cutoff,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    more = upto < bound
    if not more:
        # Freed pages go back to the file system (the file shrinks at the next checkpoint
        # of the write-ahead log) instead of waiting on a free list. As a script: a plain
        # execute steps it once, which frees a single page.
        conn.executescript("PRAGMA incremental_vacuum;")
    return TrimStep(dropped=dropped, first_held=first_held(conn, last_seq), more=more)


def ensure_reclaimable(conn: sqlite3.Connection) -> bool:
    """Make freed pages returnable to the file system (incremental auto-vacuum); whether
    the file had to be rewritten once for it (a journal created before retention)."""
    if int(conn.execute("PRAGMA auto_vacuum").fetchone()[0]) == 2:
        return False
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("VACUUM")
    return True
