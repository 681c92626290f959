"""Fusion checkpoints on the embedded default: one SQLite file in the data folder.

Each save replaces every picture's row in one transaction (all or none), fsynced before
it returns (``synchronous=FULL``, rollback journal): a crash mid-save leaves the previous
checkpoint whole. The file is owner-only, like the journal. A file that cannot be read
(damaged, not a database) is moved aside with a warning and fusion replays the whole
journal, as without a checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from tessera.private_files import private_file
from tessera.store.checkpoint_store import Checkpoint, PictureCheckpoint
from tessera.wal_files import write_transaction

if TYPE_CHECKING:
    from tessera.cluster.fence import Fence

log = logging.getLogger(__name__)

CHECKPOINT_FILE: Final = "checkpoints.sqlite3"
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS fusion_checkpoints (
    picture TEXT PRIMARY KEY,
    journal_seq INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    body BLOB NOT NULL,
    overlays BLOB NOT NULL,
    final INTEGER NOT NULL
)
"""
_SAVE: Final = (
    "INSERT OR REPLACE INTO fusion_checkpoints "
    "(picture, journal_seq, seq, fingerprint, body, overlays, final) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_LOAD: Final = (
    "SELECT picture, journal_seq, seq, fingerprint, body, overlays, final FROM fusion_checkpoints"
)


def checkpoint_path(data_dir: Path) -> Path:
    return data_dir / CHECKPOINT_FILE


class SqliteCheckpoints:
    def __init__(self, path: Path) -> None:
        self._path = path
        # One process owns the data folder: no lease, nothing to fence.
        self.fence: Fence | None = None

    async def save(self, checkpoint: Checkpoint) -> None:
        await asyncio.to_thread(self._save, checkpoint)

    async def load(self, fingerprints: Mapping[str, str]) -> dict[str, PictureCheckpoint]:
        """The stored state of each of these pictures saved under the same configuration;
        nothing from a file that cannot be read (moved aside, with a warning)."""
        return await asyncio.to_thread(self._load, dict(fingerprints))

    def _connect(self) -> sqlite3.Connection:
        # Owner-only before SQLite opens it (its rollback journal takes the same mode).
        private_file(self._path)
        conn = sqlite3.connect(self._path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def _save(self, checkpoint: Checkpoint) -> None:
        rows = [
            (
                name,
                part.journal_seq,
                part.seq,
                part.fingerprint,
                part.body,
                part.overlays,
                int(part.final),
            )
            for name, part in checkpoint.pictures.items()
        ]
        conn = self._connect()
        try:
            conn.execute(_SCHEMA)
            with write_transaction(conn):
                conn.executemany(_SAVE, rows)
        finally:
            conn.close()

    def _load(self, fingerprints: dict[str, str]) -> dict[str, PictureCheckpoint]:
        if not self._path.exists():
            return {}
        try:
            conn = self._connect()
            try:
                conn.execute(_SCHEMA)
                found = conn.execute(_LOAD).fetchall()
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            aside = self._path.with_name(self._path.name + ".unreadable")
            log.warning(
                "the fusion checkpoint %s cannot be read (%s): moved to %s; "
                "the pictures are rebuilt from the whole journal",
                self._path,
                exc,
                aside,
            )
            self._path.replace(aside)
            return {}
        parts: dict[str, PictureCheckpoint] = {}
        for picture, journal_seq, seq, fingerprint, body, overlays, final in found:
            if fingerprints.get(str(picture)) == str(fingerprint):
                parts[str(picture)] = PictureCheckpoint(
                    int(journal_seq),
                    int(seq),
                    str(fingerprint),
                    bytes(body),
                    bytes(overlays),
                    bool(final),
                )
        return parts
