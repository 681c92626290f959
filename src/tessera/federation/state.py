"""What federation remembers between runs (``federation.sqlite3`` in the data folder):
where each partner's journal stands in ours (the position its link resumes from, and
likewise in its chat journal), where
each item that came over a link came from (its origin, id there and path, so a node
passing it on says so and never sends it back), and the overlays a link has sent (so a
withdrawal follows them, and nothing else's does)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

import msgspec

from tessera.wal_files import connect_wal

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS positions (link TEXT PRIMARY KEY, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chat_positions (
    link TEXT PRIMARY KEY, position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS provenance (
    local_id TEXT PRIMARY KEY, origin TEXT NOT NULL, wire_id TEXT NOT NULL,
    path TEXT NOT NULL, object TEXT
);
CREATE TABLE IF NOT EXISTS sent_overlays (
    link TEXT NOT NULL, overlay_id TEXT NOT NULL, PRIMARY KEY (link, overlay_id)
);
"""


class Provenance(msgspec.Struct, frozen=True):
    """Where a journaled item came from: ``object`` is its subject (a report) or overlay id
    as its origin named it."""

    origin: str
    wire_id: str
    path: tuple[str, ...]
    object: str | None = None


class FederationState:
    def __init__(self, path: Path) -> None:
        self._db = connect_wal(path, shared=True)
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def position(self, link: str) -> int:
        row = self._db.execute("SELECT position FROM positions WHERE link = ?", (link,)).fetchone()
        return 0 if row is None else int(row[0])

    def set_position(self, link: str, position: int) -> None:
        self._db.execute(
            "INSERT INTO positions VALUES (?, ?) ON CONFLICT (link) DO UPDATE SET "
            "position = max(position, excluded.position)",
            (link, position),
        )

    def chat_position(self, link: str) -> int:
        row = self._db.execute(
            "SELECT position FROM chat_positions WHERE link = ?", (link,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def set_chat_position(self, link: str, position: int) -> None:
        self._db.execute(
            "INSERT INTO chat_positions VALUES (?, ?) ON CONFLICT (link) DO UPDATE SET "
            "position = max(position, excluded.position)",
            (link, position),
        )

    def record(self, rows: Iterable[tuple[str, Provenance]]) -> None:
        """Remember where items came from (before they are journaled: an item in the
        journal always has its provenance)."""
        values = [(local, p.origin, p.wire_id, json.dumps(p.path), p.object) for local, p in rows]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR IGNORE INTO provenance VALUES (?, ?, ?, ?, ?)", values)

    def provenance(self, local_ids: Sequence[str]) -> dict[str, Provenance]:
        found: dict[str, Provenance] = {}
        for start in range(0, len(local_ids), 500):
            chunk = local_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT * FROM provenance WHERE local_id IN ({marks})"  # noqa: S608 - placeholders only
            for local, origin, wire_id, path, obj in self._db.execute(query, chunk):
                found[local] = Provenance(origin, wire_id, tuple(json.loads(path)), obj)
        return found

    def overlays_sent(self, link: str) -> set[str]:
        rows = self._db.execute("SELECT overlay_id FROM sent_overlays WHERE link = ?", (link,))
        return {row[0] for row in rows}

    def overlay_sent(self, link: str, overlay_ids: Iterable[str]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR IGNORE INTO sent_overlays VALUES (?, ?)",
                [(link, overlay_id) for overlay_id in overlay_ids],
            )
