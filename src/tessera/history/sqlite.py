"""History snapshots on the embedded default: one SQLite file in the data folder
(``history.sqlite3``), owner-only like the journal, written from a worker thread."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from tessera.history.base import Snapshot, SnapshotStore
from tessera.wal_files import connect_wal, write_transaction

HISTORY_FILE: Final = "history.sqlite3"
_SCHEMA: Final = (
    """
CREATE TABLE IF NOT EXISTS history_snapshots (
    picture TEXT NOT NULL,
    journal_seq INTEGER NOT NULL,
    at_us INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    body BLOB NOT NULL,
    overlays BLOB NOT NULL,
    PRIMARY KEY (picture, journal_seq)
)
""",
    "CREATE INDEX IF NOT EXISTS history_snapshots_at ON history_snapshots (picture, at_us)",
)
_SAVE: Final = (
    "INSERT OR REPLACE INTO history_snapshots "
    "(picture, journal_seq, at_us, fingerprint, body, overlays) VALUES (?, ?, ?, ?, ?, ?)"
)
_LATEST: Final = (
    "SELECT journal_seq, at_us, body, overlays FROM history_snapshots "
    "WHERE picture = ? AND fingerprint = ? AND at_us <= ? "
    "ORDER BY at_us DESC, journal_seq DESC LIMIT 1"
)


def history_path(data_dir: Path) -> Path:
    return data_dir / HISTORY_FILE


def to_us(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(micros: int) -> datetime:
    return datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)


class SqliteSnapshots(SnapshotStore):
    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        # One connection, used from one worker thread at a time.
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        conn = connect_wal(self._path, busy_timeout_ms=10_000, shared=True)
        for statement in _SCHEMA:
            conn.execute(statement)
        self._conn = conn

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            async with self._lock:
                await asyncio.to_thread(conn.close)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("the history store is not open")
        return self._conn

    async def save(self, snapshots: list[Snapshot]) -> None:
        rows = [
            (s.picture, s.journal_seq, to_us(s.at), s.fingerprint, s.body, s.overlays)
            for s in snapshots
        ]
        conn = self._connection()

        def write() -> None:
            with write_transaction(conn):
                conn.executemany(_SAVE, rows)

        async with self._lock:
            await asyncio.to_thread(write)

    async def latest(self, picture: str, fingerprint: str, at: datetime) -> Snapshot | None:
        conn = self._connection()
        async with self._lock:
            row = await asyncio.to_thread(
                lambda: conn.execute(_LATEST, (picture, fingerprint, to_us(at))).fetchone()
            )
        if row is None:
            return None
        journal_seq, at_us, body, overlays = row
        return Snapshot(
            picture=picture,
            journal_seq=int(journal_seq),
            at=from_us(int(at_us)),
            fingerprint=fingerprint,
            body=bytes(body),
            overlays=bytes(overlays),
        )

    async def drop_before(self, journal_seq: int) -> int:
        conn = self._connection()
        async with self._lock:
            cursor = await asyncio.to_thread(
                conn.execute, "DELETE FROM history_snapshots WHERE journal_seq < ?", (journal_seq,)
            )
        return int(cursor.rowcount)

    async def count(self, picture: str) -> int:
        conn = self._connection()
        async with self._lock:
            row = await asyncio.to_thread(
                lambda: conn.execute(
                    "SELECT count(*) FROM history_snapshots WHERE picture = ?", (picture,)
                ).fetchone()
            )
        return int(row[0]) if row else 0
