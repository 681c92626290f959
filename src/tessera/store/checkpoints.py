"""Fusion checkpoints in PostGIS: each picture's tracker state with the journal position it
covers, the pictures of one worker written together in one transaction. Pictures fused
by different workers (or regrouped between runs) each keep their own position.

A fusion worker saves under its ``fence`` (DESIGN §10): the save's transaction first checks
the pictures' fence rows and raises FencedError, writing nothing, if a newer epoch is
there."""

from __future__ import annotations

from collections.abc import Mapping

import psycopg

from tessera.cluster.fence import Fence
from tessera.postgis.connection import session_conninfo
from tessera.postgis.fencing import check_fence
from tessera.store.checkpoint_store import Checkpoint, PictureCheckpoint

__all__ = ["Checkpoint", "PictureCheckpoint", "PostgisCheckpoints"]

_SAVE = """
INSERT INTO fusion_checkpoints (picture, journal_seq, seq, fingerprint, body, taken_at, epoch)
VALUES (%s, %s, %s, %s, %s, now(), %s)
ON CONFLICT (picture) DO UPDATE SET journal_seq = EXCLUDED.journal_seq,
    seq = EXCLUDED.seq, fingerprint = EXCLUDED.fingerprint, body = EXCLUDED.body,
    taken_at = EXCLUDED.taken_at, epoch = EXCLUDED.epoch
"""
_LOAD = "SELECT picture, journal_seq, seq, fingerprint, body FROM fusion_checkpoints"


class PostgisCheckpoints:
    def __init__(self, dsn: str) -> None:
        self._conninfo = session_conninfo(dsn)
        # The lease epochs a fusion worker writes under (set at its takeover).
        self.fence: Fence | None = None

    async def save(self, checkpoint: Checkpoint) -> None:
        fence = self.fence
        epochs = {} if fence is None else fence.epochs
        rows = [
            (name, part.journal_seq, part.seq, part.fingerprint, part.body, epochs.get(name, 0))
            for name, part in checkpoint.pictures.items()
        ]
        async with (
            await psycopg.AsyncConnection.connect(self._conninfo) as conn,
            conn.transaction(),
            conn.cursor() as cursor,
        ):
            await check_fence(cursor, fence)
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
