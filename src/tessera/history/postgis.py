"""History snapshots in PostGIS (``history_snapshots``, migration 0009): written by the
process that fuses, read by any gateway that answers a seek."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import psycopg

from tessera.history.base import Snapshot, SnapshotStore
from tessera.postgis.connection import session_conninfo

_SAVE: Final = """
INSERT INTO history_snapshots (picture, journal_seq, at, fingerprint, body, overlays)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (picture, journal_seq) DO UPDATE SET at = EXCLUDED.at,
    fingerprint = EXCLUDED.fingerprint, body = EXCLUDED.body, overlays = EXCLUDED.overlays
"""
_LATEST: Final = """
SELECT journal_seq, at, body, overlays FROM history_snapshots
WHERE picture = %s AND fingerprint = %s AND at <= %s
ORDER BY at DESC, journal_seq DESC LIMIT 1
"""


class PostgisSnapshots(SnapshotStore):
    def __init__(self, dsn: str) -> None:
        self._conninfo = session_conninfo(dsn)

    async def save(self, snapshots: list[Snapshot]) -> None:
        rows = [
            (s.picture, s.journal_seq, s.at, s.fingerprint, s.body, s.overlays) for s in snapshots
        ]
        async with (
            await psycopg.AsyncConnection.connect(self._conninfo) as conn,
            conn.transaction(),
            conn.cursor() as cursor,
        ):
            await cursor.executemany(_SAVE, rows)

    async def latest(self, picture: str, fingerprint: str, at: datetime) -> Snapshot | None:
        async with await psycopg.AsyncConnection.connect(self._conninfo) as conn:
            row = await (await conn.execute(_LATEST, (picture, fingerprint, at))).fetchone()
        if row is None:
            return None
        journal_seq, taken_at, body, overlays = row
        return Snapshot(
            picture=picture,
            journal_seq=int(journal_seq),
            at=taken_at,
            fingerprint=fingerprint,
            body=bytes(body),
            overlays=bytes(overlays),
        )

    async def drop_before(self, journal_seq: int) -> int:
        async with await psycopg.AsyncConnection.connect(self._conninfo) as conn:
            cursor = await conn.execute(
                "DELETE FROM history_snapshots WHERE journal_seq < %s", (journal_seq,)
            )
            return cursor.rowcount

    async def count(self, picture: str) -> int:
        async with await psycopg.AsyncConnection.connect(self._conninfo) as conn:
            row = await (
                await conn.execute(
                    "SELECT count(*) FROM history_snapshots WHERE picture = %s", (picture,)
                )
            ).fetchone()
        return int(row[0]) if row else 0
