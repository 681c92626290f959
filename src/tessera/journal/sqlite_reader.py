"""The SQLite journal's file: how a connection to it is opened (the writer's and the
readers'), and the readers' side, one connection that WAL lets read beside the writer,
used by one worker thread at a time."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Final

from tessera.codecs.json import decode_stored_report
from tessera.core.model import Report
from tessera.journal.base import JournalEntry
from tessera.journal.sqlite_rows import entry_of
from tessera.microseconds import from_us

LOOKUP_CHUNK: Final = 500


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # Before the first table exists (and before WAL): a new file returns freed pages.
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: in WAL mode every commit is fsynced before it returns, which is the promise
    # an acknowledgement makes.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class JournalReader:
    """Reads on the readers' connection (blocking: called from a worker thread)."""

    def __init__(self, path: Path) -> None:
        self._conn = connect(path)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def received_after(self, seq: int) -> datetime | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT received_us FROM journal WHERE seq > ? ORDER BY seq LIMIT 1", (seq,)
            ).fetchone()
        return None if row is None else from_us(int(row[0]))

    def entries(self, after_seq: int, limit: int) -> list[JournalEntry]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, kind, received_us, body FROM journal WHERE seq > ? "
                "ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [
            entry_of(int(seq), kind, from_us(int(micros)), body) for seq, kind, micros, body in rows
        ]

    def reports(self, ids: list[str]) -> dict[str, Report]:
        found: dict[str, Report] = {}
        with self._lock:
            for start in range(0, len(ids), LOOKUP_CHUNK):
                chunk = ids[start : start + LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                for report_id, body in self._conn.execute(
                    f"SELECT id, body FROM journal WHERE kind = 'report' AND id IN ({marks})",  # noqa: S608 - placeholders only
                    chunk,
                ):
                    found[report_id] = decode_stored_report(body)
        return found
