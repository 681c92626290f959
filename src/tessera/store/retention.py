"""What journal retention asks PostGIS (DESIGN §5):

- ``ArchivedReportKeys``: the report archive as the long-term record of stored reports.
  A retry older than the JetStream journal's claims is answered with the seq the archive
  holds for its id (the archive's key is the stored report key).
- ``covered_position``: how far every saved state covers the journal, so a trim never
  drops what a restart would replay: the least position of the fusion checkpoints of every
  picture any worker has written (every group's, not only the caller's), and the report
  archive's. None while some picture has no checkpoint (its next
  worker would replay the whole journal).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

import psycopg
from psycopg.rows import TupleRow

from tessera.postgis.connection import session_conninfo, usable

_STORED: Final = "SELECT id, journal_seq FROM reports WHERE id = ANY(%s)"
# Every picture a fusion worker has ever written (each writer adds its pictures' rows when
# it opens), not only this worker's: another group's pictures may lag behind.
_COVERED: Final = """
WITH wanted AS (SELECT unnest(%s::text[]) AS name UNION SELECT name FROM pictures)
SELECT (SELECT journal_seq FROM report_archive),
       (SELECT min(c.journal_seq) FROM wanted JOIN fusion_checkpoints c ON c.picture = name),
       (SELECT count(*) FROM wanted LEFT JOIN fusion_checkpoints c ON c.picture = name
        WHERE c.picture IS NULL)
"""

Connection = psycopg.AsyncConnection[TupleRow]


class ArchivedReportKeys:
    """``StoredKeys`` over the report archive, on one connection of its own (opened
    when first asked, again after a failure)."""

    def __init__(self, dsn: str) -> None:
        self._conninfo = session_conninfo(dsn)
        self._conn: Connection | None = None
        self._lock = asyncio.Lock()

    async def stored_seqs(self, ids: Sequence[str]) -> dict[str, int]:
        if not ids:
            return {}
        async with self._lock:
            self._conn = await usable(self._conn, self._conninfo)
            rows = await (await self._conn.execute(_STORED, (list(ids),))).fetchall()
        return {str(report_id): int(seq) for report_id, seq in rows}

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


async def covered_position(dsn: str, pictures: Sequence[str]) -> int | None:
    """The journal position every saved state covers (None: some picture has none)."""
    names = sorted(set(pictures))
    async with await psycopg.AsyncConnection.connect(session_conninfo(dsn)) as conn:
        row = await (await conn.execute(_COVERED, (names,))).fetchone()
    if row is None or row[1] is None or int(row[2]) > 0:
        return None
    return min(int(row[0]), int(row[1]))
