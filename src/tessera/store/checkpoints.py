"""Fusion checkpoints in PostGIS: every picture's tracker state at one journal position,
written together in one transaction, read back whole or not at all."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
import psycopg

from tessera.postgis.connection import session_conninfo

_SAVE = """
INSERT INTO fusion_checkpoints (picture, journal_seq, seq, fingerprint, body, taken_at)
VALUES (%s, %s, %s, %s, %s, now())
ON CONFLICT (picture) DO UPDATE SET journal_seq = EXCLUDED.journal_seq,
    seq = EXCLUDED.seq, fingerprint = EXCLUDED.fingerprint, body = EXCLUDED.body,
    taken_at = EXCLUDED.taken_at
"""
_LOAD = "SELECT picture, journal_seq, seq, fingerprint, body FROM fusion_checkpoints"


class PictureCheckpoint(msgspec.Struct, frozen=True):
    seq: int
    fingerprint: str
    body: bytes


class Checkpoint(msgspec.Struct, frozen=True):
    """The journal position every picture's state covers, and each picture's state."""

    journal_seq: int
    pictures: dict[str, PictureCheckpoint]


class PostgisCheckpoints:
    def __init__(self, dsn: str) -> None:
        self._conninfo = session_conninfo(dsn)

    async def save(self, checkpoint: Checkpoint) -> None:
        rows = [
            (name, checkpoint.journal_seq, part.seq, part.fingerprint, part.body)
            for name, part in checkpoint.pictures.items()
        ]
        async with (
            await psycopg.AsyncConnection.connect(self._conninfo) as conn,
            conn.transaction(),
            conn.cursor() as cursor,
        ):
            await cursor.executemany(_SAVE, rows)

    async def load(self, fingerprints: Mapping[str, str]) -> Checkpoint | None:
        """The stored checkpoint if it covers exactly these pictures, each under the same
        configuration, at one journal position; otherwise None."""
        async with await psycopg.AsyncConnection.connect(self._conninfo) as conn:
            found = await (await conn.execute(_LOAD)).fetchall()
        parts: dict[str, PictureCheckpoint] = {}
        positions: set[int] = set()
        for picture, journal_seq, seq, fingerprint, body in found:
            if picture in fingerprints:
                positions.add(int(journal_seq))
                parts[str(picture)] = PictureCheckpoint(int(seq), str(fingerprint), bytes(body))
        usable = (
            len(positions) == 1
            and set(parts) == set(fingerprints)
            and all(parts[name].fingerprint == fingerprints[name] for name in parts)
        )
        return Checkpoint(positions.pop(), parts) if usable else None
