"""The scale-out track store's writer (``postgis.py`` tells the whole design): the
changes queued, coalesced, are written in order, one transaction a batch with the
pictures' seq and journal position, under the fusion worker's fence; a failed write is
reported and tried again after a growing pause, and a newer fence epoch stops the writer
for good. ``flush`` waits for what is queued to be written."""

from __future__ import annotations

import asyncio
import logging

import psycopg
from psycopg.rows import TupleRow

from tessera.cluster.fence import Fence, FencedError
from tessera.postgis.connection import usable
from tessera.postgis.fencing import check_fence
from tessera.store import postgis_rows as rows
from tessera.store.postgis_pending import Batch, WriteQueue

# The store's own logger: its writing is the store's, as operators see it.
log = logging.getLogger("tessera.store.postgis")

Connection = psycopg.AsyncConnection[TupleRow]


class PostgisStoreError(RuntimeError):
    """The store cannot be used; the message says why."""


class StoreWriter:
    """The writing half of the store; a reader (``writer`` False) only keeps its health
    and journal position."""

    def __init__(
        self, names: tuple[str, ...], conninfo: str, *, writer: bool, retry: tuple[float, float]
    ) -> None:
        self._names = names
        self._conninfo = conninfo
        self.writer = writer
        self._retry = retry
        self._journal: dict[str, int] = dict.fromkeys(names, 0)
        self._write_conn: Connection | None = None
        self._queue = WriteQueue(names)
        self._in_flight: Batch | None = None
        self._committed_version = 0
        self._wake = asyncio.Event()
        # Replaced each time it is set: flush waits for the next commit or failure.
        self._progress = asyncio.Event()
        self._writer_task: asyncio.Task[None] | None = None
        self._healthy = True
        self._last_error: str | None = None
        self.failures = 0
        # The lease epochs a fusion worker writes under (set at its takeover).
        self.fence: Fence | None = None

    # -- health ------------------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        """False from a failed write until the next one succeeds."""
        return self._healthy

    @property
    def last_error(self) -> str | None:
        """Why the latest failed write failed (kept after recovery, for the record)."""
        return self._last_error

    @property
    def pending(self) -> int:
        """Items not yet written, including a batch being written."""
        in_flight = 0 if self._in_flight is None else self._in_flight.items()
        return self._queue.pending() + in_flight

    def journal_seq(self, picture: str) -> int:
        """How far into the journal the picture's stored rows are fused."""
        return self._journal[picture]

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every change queued so far is written; TimeoutError after
        ``timeout`` seconds (the changes stay queued). Nothing to wait for in a reader."""
        if not self.writer or self._writer_task is None:
            return
        target = self._queue.version
        async with asyncio.timeout(timeout):
            while self._committed_version < target:
                task = self._writer_task
                if task.done():
                    cause = None if task.cancelled() else task.exception()
                    raise PostgisStoreError("the track store's writer has stopped") from cause
                await self._progress.wait()

    # -- the writer --------------------------------------------------------------------

    def _progressed(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()

    async def _write_loop(self) -> None:
        first_pause, longest_pause = self._retry
        pause = first_pause
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._deposed():
                return
            batch = self._queue.take()
            if batch is None:
                continue
            self._in_flight = batch
            try:
                await self._write(batch)
            except FencedError as exc:
                self._in_flight = None
                self._queue.failed(batch)
                log.error("the track store stops writing: %s", exc)
                if self.fence is not None:
                    self.fence.depose(str(exc))
                return
            except Exception as exc:  # every failure is retried: none may drop a change
                self._in_flight = None
                self._queue.failed(batch)
                self._failed(exc, batch, pause)
                self._progressed()
                await asyncio.sleep(pause)
                pause = min(pause * 2, longest_pause)
                self._wake.set()
                continue
            self._in_flight = None
            self._queue.committed(batch)
            if batch.journal_seq is not None:
                self._journal = dict.fromkeys(self._names, batch.journal_seq)
            self._committed_version = batch.version
            if not self._healthy:
                log.warning("the track store writes again after %d failures", self.failures)
            self._healthy, pause = True, first_pause
            self._progressed()

    def _deposed(self) -> bool:
        return self.fence is not None and self.fence.deposed.is_set()

    def _failed(self, exc: Exception, batch: Batch, pause: float) -> None:
        self.failures += 1
        self._healthy = False
        self._last_error = str(exc).strip() or type(exc).__name__
        log.error(
            "writing %d track store changes failed (%d so far), retrying in %.1f s: %s",
            batch.items(),
            self.failures,
            pause,
            self._last_error,
        )

    async def _write(self, batch: Batch) -> None:
        # Rows are made before the transaction, to keep it short, and in a thread: a large
        # batch (after a catch-up, say) would otherwise hold up the server's requests.
        statements = await asyncio.to_thread(rows.batch_statements, batch, self._names)
        conn = await self._write_connection()
        fence = self.fence
        async with conn.transaction(), conn.cursor() as cursor:
            await check_fence(cursor, fence)
            if fence is not None:
                marked = [(fence.epochs[n], n) for n in self._names if n in fence.epochs]
                await cursor.executemany(rows.PICTURE_EPOCH, marked)
            for query, params in statements:
                await cursor.executemany(query, params)

    async def _write_connection(self) -> Connection:
        self._write_conn = await usable(self._write_conn, self._conninfo)
        return self._write_conn
