"""Every journal report, once, in PostGIS (DESIGN §5): the raw observations beside the
pictures fused from them, for queries by place, time and source in the database.

One archiver writes at a time (in a scale-out deployment, the fusion worker holding the
archive's lease). It reads the journal in order and writes a chunk of reports in one
transaction together with how far into the journal the table now holds every report, so
a new archiver (after a restart or a takeover) goes on exactly where the last commit left
it. A report id is the table's key and a repeat is ignored, so even two archivers at once
(a lease lost in a pause) store each report once; and an archiver with a ``fence`` (the
archive lease's epoch, DESIGN §10) checks its fence row in every chunk's transaction, so
one that was replaced writes nothing more (FencedError ends ``run``). A failed write is
logged and tried again after a growing pause: the journal keeps everything meanwhile, and
memory holds one chunk at most.
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import datetime
from typing import Any, Final

import psycopg
from psycopg.rows import TupleRow

from tessera.cluster.fence import ARCHIVE_FENCE, Fence, FencedError
from tessera.codecs.json import decode_stored_report, encode_report
from tessera.core.model import Report
from tessera.journal.base import Journal
from tessera.postgis.connection import session_conninfo, usable
from tessera.postgis.fencing import check_fence
from tessera.postgis.migrate import check_schema

log = logging.getLogger(__name__)

Connection = psycopg.AsyncConnection[TupleRow]
BBox = tuple[float, float, float, float]

POSITION: Final = "SELECT journal_seq FROM report_archive"
ADVANCE: Final = (
    "UPDATE report_archive SET journal_seq = GREATEST(journal_seq, %s), updated_at = now(), "
    "epoch = %s"
)
# Rows are copied into a table of the session's own (emptied at each commit), then moved
# over with repeats ignored: COPY is the fast way in, and it knows no ON CONFLICT.
STAGING: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS incoming_reports "
    "(LIKE reports INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
COPY: Final = """
COPY incoming_reports (id, journal_seq, body, position, observed_at, received_at, source_id,
                       source_kind, subject, classification, releasable_to) FROM STDIN
"""
MOVE: Final = """
INSERT INTO reports SELECT * FROM incoming_reports
ON CONFLICT ON CONSTRAINT reports_pkey DO NOTHING
"""
# A box, then an optional time window on observed_at (NULL: open), oldest first.
IN_BOX: Final = """
SELECT body::text FROM reports
WHERE ST_Intersects(position::geometry, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
    AND (%s::timestamptz IS NULL OR observed_at >= %s::timestamptz)
    AND (%s::timestamptz IS NULL OR observed_at < %s::timestamptz)
ORDER BY observed_at, id LIMIT %s
"""
DEFAULT_CHUNK: Final = 5_000


def report_row(seq: int, report: Report) -> tuple[Any, ...]:
    label = report.label
    position = report.position
    return (
        report.id,
        seq,
        encode_report(report).decode(),
        f"SRID=4326;POINT({position.lon!r} {position.lat!r})",
        report.observed_at,
        report.received_at,
        report.source.id,
        report.source.kind.value,
        report.subject,
        label.classification,
        sorted(label.releasable_to),
    )


class PostgisReportArchive:
    def __init__(
        self,
        dsn: str,
        journal: Journal,
        *,
        chunk: int = DEFAULT_CHUNK,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 30.0,
    ) -> None:
        self._conninfo = session_conninfo(dsn)
        self._journal = journal
        self._chunk = chunk
        self._retry = (retry_initial_s, retry_max_s)
        self._conn: Connection | None = None
        # How far into the journal the table holds every report (as last committed).
        self.position = 0
        self.healthy = True
        self.failures = 0
        # The archive lease's epoch this archiver writes under (set when it takes it).
        self.fence: Fence | None = None

    async def open(self) -> None:
        """Check the schema and read where the archive stands."""
        conn = await self._connection()
        await check_schema(conn)
        await self.reload()

    async def reload(self) -> None:
        """Read the archive's position again (taking over from another archiver)."""
        conn = await self._connection()
        row = await (await conn.execute(POSITION)).fetchone()
        self.position = int(row[0]) if row else 0

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def run(self) -> None:
        """Archive the journal from the stored position on, until cancelled."""
        while True:
            if self.position >= self._journal.last_seq:
                await self._journal.wait(self.position, timeout=1.0)
                continue
            entries = await self._journal.read(self.position, self._chunk)
            if not entries:
                await asyncio.sleep(0.05)
                continue
            found = [(e.seq, e.report) for e in entries if e.report is not None]
            await self._write_until_done(found, entries[-1].seq)
            self.position = entries[-1].seq

    async def wait_for(self, seq: int, timeout: float) -> bool:
        """Whether the archive holds every report up to ``seq`` within ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.position < seq:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def _write_until_done(self, found: list[tuple[int, Report]], upto: int) -> None:
        first_pause, longest_pause = self._retry
        pause = first_pause
        rows = await asyncio.to_thread(lambda: [report_row(seq, r) for seq, r in found])
        fence = self.fence
        epoch = 0 if fence is None else fence.epoch(ARCHIVE_FENCE)
        while True:
            if fence is not None and fence.deposed.is_set():
                raise FencedError(fence.reason)
            if fence is not None and not fence.holds():
                # The lease in doubt (a renewal late): wait for it to be renewed or lost.
                await asyncio.sleep(pause)
                continue
            try:
                conn = await self._connection()
                async with conn.transaction(), conn.cursor() as cursor:
                    await check_fence(cursor, fence)
                    if rows:
                        await cursor.execute(STAGING)
                        async with cursor.copy(COPY) as copy:
                            for row in rows:
                                await copy.write_row(row)
                        await cursor.execute(MOVE)
                    await cursor.execute(ADVANCE, (upto, epoch))
            except FencedError as exc:
                log.error("the report archive stops: %s", exc)
                if fence is not None:
                    fence.depose(str(exc))
                raise
            except (psycopg.Error, OSError) as exc:
                self.failures += 1
                self.healthy = False
                log.error(
                    "archiving %d reports failed (%d so far), retrying in %.1f s: %s",
                    len(rows),
                    self.failures,
                    pause,
                    str(exc).strip() or type(exc).__name__,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, longest_pause)
                continue
            if not self.healthy:
                log.warning("the report archive writes again after %d failures", self.failures)
            self.healthy = True
            return

    async def reports_in(
        self,
        bbox: BBox,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1_000,
    ) -> list[Report]:
        """Archived reports within a (west, south, east, north) box, observed in
        [since, until) when given, oldest first, answered by the database's indexes."""
        west, south, east, north = bbox
        if not all(math.isfinite(value) for value in bbox) or south > north:
            return []
        boxes = [(west, south, east, north)]
        if west > east:  # across the antimeridian: two boxes
            boxes = [(west, south, 180.0, north), (-180.0, south, east, north)]
        found: list[Report] = []
        conn = await self._connection()
        for box in boxes:
            params = (*box, since, since, until, until, limit)
            for (body,) in await (await conn.execute(IN_BOX, params)).fetchall():
                found.append(decode_stored_report(str(body).encode()))
        found.sort(key=lambda report: (report.observed_at, report.id))
        return found[:limit]

    async def _connection(self) -> Connection:
        self._conn = await usable(self._conn, self._conninfo)
        return self._conn
