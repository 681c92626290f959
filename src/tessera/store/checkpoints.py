"""Fusion checkpoints in PostGIS: each picture's tracker state with the journal position it
covers, the pictures of one worker written together in one transaction. Pictures fused
by different workers (or regrouped between runs) each keep their own position."""

from __future__ import annotations

from collections.abc import Mapping

import psycopg

from tessera.postgis.connection import session_conninfo
from tessera.store.checkpoint_store import Checkpoint, PictureCheckpoint

__all__ = ["Checkpoint", "PictureCheckpoint", "PostgisCheckpoints"]

_SAVE = """
INSERT INTO fusion_checkpoints (picture, journal_seq, seq, fingerprint, body, taken_at)
VALUES (%s, %s, %s, %s, %s, now())
ON CONFLICT (picture) DO UPDATE SET journal_seq = EXCLUDED.journal_seq,
    seq = EXCLUDED.seq, fingerprint = EXCLUDED.fingerprint, body = EXCLUDED.body,
    taken_at = EXCLUDED.taken_at
"""
_LOAD = "SELECT picture, journal_seq, seq, fingerprint, body FROM fusion_checkpoints"


class PostgisCheckpoints:
    def __init__(self, dsn: str) -> None:
        self._conninfo = session_conninfo(dsn)

    async def save(self, checkpoint: Checkpoint) -> None:
        rows = [
            (name, part.journal_seq, part.seq, part.fingerprint, part.body)
            for name, part in checkpoint.pictures.items()
        ]
        async with (
            await psycopg.AsyncConnection.connect(self._conninfo) as conn,
            conn.transaction(),
            conn.cursor() as cursor,
        ):
            await cursor.executemany(_SAVE, rows)

    async def load(self, fingerprints: Mapping[str, str]) -> dict[str, PictureCheckpoint]:
        """The stored state of each of these pictures that was saved under the same
        configuration (its fingerprint); a picture without one is left out."""
        async with await psycopg.AsyncConnection.connect(self._conninfo) as conn:
            found = await (await conn.execute(_LOAD)).fetchall()
        parts: dict[str, PictureCheckpoint] = {}
        for picture, journal_seq, seq, fingerprint, body in found:
            if fingerprints.get(str(picture)) == str(fingerprint):
                parts[str(picture)] = PictureCheckpoint(
                    int(journal_seq), int(seq), str(fingerprint), bytes(body)
                )
        return parts
