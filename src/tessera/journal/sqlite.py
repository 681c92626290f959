"""The embedded journal: one SQLite file in WAL mode.

One writer thread owns the write connection. Appends queue up while a commit is in
flight and go into the next transaction together (group commit), so a busy server pays
one fsync per group, not one per report; each caller is answered only after the commit
that holds its reports. Readers use their own connection (WAL lets them run beside the
writer); the most recent entries are also kept in memory so fusion can follow the tail
without a query. Retention (``trim``, ``sqlite_retention``) runs on the writer thread
too, in steps between the appends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

from tessera.core.model import Report
from tessera.journal import sqlite_retention
from tessera.journal.base import (
    KEEP_ALL,
    AppendResult,
    Journal,
    JournalClosedError,
    JournalEntry,
    JournalItem,
    Retention,
)
from tessera.journal.sqlite_reader import LOOKUP_CHUNK, JournalReader, connect
from tessera.journal.sqlite_rows import (
    SCHEMA,
    allow_overlays,
    key_of,
    seqs_by_id,
    stamped,
)
from tessera.microseconds import from_us, to_us
from tessera.private_files import private_file

log = logging.getLogger(__name__)


class _Append:
    __slots__ = ("future", "items")

    def __init__(self, items: Sequence[JournalItem], future: asyncio.Future[AppendResult]) -> None:
        self.items = items
        self.future = future


_STOP: Final = object()
_WAKE: Final = object()  # nothing to write: the writer looks at its ticks again


class SqliteJournal(Journal):
    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], datetime],
        tick_interval: float = 1.0,
        max_group: int = 20_000,
        recent_window: int = 20_000,
        retention: Retention = KEEP_ALL,
        hold_ticks: bool = False,
    ) -> None:
        self._path = path
        # Held, no tick is written before start_ticks: a fresh server's first entries are
        # then the same whenever its fusion comes to restore (see checkpointing).
        self._ticking = threading.Event()
        if not hold_ticks:
            self._ticking.set()
        self._retention = retention
        self._clock = clock
        self._tick_interval = tick_interval
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Append | sqlite_retention.TrimRequest | object] = (
            queue.SimpleQueue()
        )
        self._recent: deque[JournalEntry] = deque(maxlen=recent_window)
        # Written by the writer thread only:
        self._written_seq = 0
        self._last_received_us = 0
        self._keeps_keys = False  # whether dropped entries' keys were kept
        # Read and written on the event loop's thread only:
        self._visible_seq = 0
        self._first_seq = 1
        self._committed = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: threading.Thread | None = None
        self._reader: JournalReader | None = None
        self._closed = False

    @property
    def last_seq(self) -> int:
        return self._visible_seq

    @property
    def first_seq(self) -> int:
        return self._first_seq

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        # Owner-only before SQLite opens it: its -wal and -shm files take the same mode.
        private_file(self._path)
        write_conn = await asyncio.to_thread(self._open_writer)
        self._visible_seq = self._written_seq
        self._first_seq = await asyncio.to_thread(self._held_from)
        self._reader = await asyncio.to_thread(JournalReader, self._path)
        self._writer = threading.Thread(
            target=self._write_loop, args=(write_conn,), name="journal-writer", daemon=True
        )
        self._writer.start()

    def _open_writer(self) -> sqlite3.Connection:
        conn = connect(self._path)
        conn.executescript(SCHEMA)
        conn.executescript(sqlite_retention.KEPT_KEYS)
        if self._retention.trims and sqlite_retention.ensure_reclaimable(conn):
            log.info("journal %s rewritten once so that trimming frees space", self._path)
        table = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'journal'").fetchone()
        if "'overlay'" not in str(table[0]):
            allow_overlays(conn)
        row = conn.execute(
            "SELECT seq, received_us FROM journal ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if row is not None:
            self._written_seq, self._last_received_us = int(row[0]), int(row[1])
        self._keeps_keys = (
            conn.execute("SELECT 1 FROM journal_kept_keys LIMIT 1").fetchone() is not None
        )
        return conn

    def _held_from(self) -> int:
        with contextlib.closing(connect(self._path)) as conn:
            return sqlite_retention.first_held(conn, self._written_seq)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        if self._writer is not None:
            await asyncio.to_thread(self._writer.join)
        # A trim step put back behind the stop is not taken up again.
        while not self._queue.empty():
            left = self._queue.get_nowait()
            if isinstance(left, sqlite_retention.TrimRequest | _Append) and not left.future.done():
                left.future.set_exception(JournalClosedError("the journal was closed"))
        if self._reader is not None:
            self._reader.close()

    # -- retention ---------------------------------------------------------------------

    async def trim(self, covered: int) -> int:
        if not self._retention.trims:
            return self._first_seq
        if self._closed or self._loop is None:
            raise JournalClosedError("the journal is not open")
        future: asyncio.Future[int] = self._loop.create_future()
        self._queue.put(sqlite_retention.TrimRequest(covered, future))
        return await future

    def _trim(self, conn: sqlite3.Connection, trim: sqlite_retention.TrimRequest) -> None:
        """One step of a trim; the rest goes back in the queue, behind waiting appends."""
        now_us = to_us(self._clock())
        try:
            step = sqlite_retention.step(conn, self._retention, trim, self._written_seq, now_us)
        except Exception as exc:
            self._loop_call(self._trimmed, trim, exc)
            return
        self._keeps_keys = self._keeps_keys or step.dropped > 0
        if step.more:
            self._queue.put(trim)
        else:
            self._loop_call(self._trimmed, trim, step.first_held)

    def _trimmed(self, trim: sqlite_retention.TrimRequest, outcome: int | Exception) -> None:
        if isinstance(outcome, Exception):
            if not trim.future.done():
                trim.future.set_exception(outcome)
            return
        self._first_seq = max(self._first_seq, outcome)
        while self._recent and self._recent[0].seq < self._first_seq:
            self._recent.popleft()
        if trim.dropped:
            log.info(
                "journal trimmed: %d entries dropped, first entry held %d",
                trim.dropped,
                self._first_seq,
            )
        if not trim.future.done():
            trim.future.set_result(self._first_seq)

    def _loop_call(self, callback: Callable[..., None], *args: object) -> None:
        loop = self._loop
        assert loop is not None
        loop.call_soon_threadsafe(callback, *args)

    # -- writing -----------------------------------------------------------------------

    def start_ticks(self) -> None:
        if not self._ticking.is_set():
            self._ticking.set()
            self._queue.put(_WAKE)  # the writer may be waiting with no timeout

    async def append(self, items: Sequence[JournalItem]) -> AppendResult:
        if self._closed or self._loop is None:
            raise JournalClosedError("the journal is not open")
        future: asyncio.Future[AppendResult] = self._loop.create_future()
        self._queue.put(_Append(items, future))
        return await future

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                try:
                    ticking = self._ticking.is_set()
                    first = self._queue.get(timeout=self._tick_interval if ticking else None)
                except queue.Empty:
                    self._commit(conn, [])
                    continue
                if first is _STOP:
                    return
                group = [first]
                size = len(first.items) if isinstance(first, _Append) else 0
                stop = False
                while size < self._max_group:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop = True
                        break
                    group.append(item)
                    size += len(item.items) if isinstance(item, _Append) else 0
                appends = [item for item in group if isinstance(item, _Append)]
                if appends:
                    self._commit(conn, appends)
                for trim in group:
                    if isinstance(trim, sqlite_retention.TrimRequest):
                        self._trim(conn, trim)
                if stop:
                    return
        finally:
            conn.close()

    def _commit(self, conn: sqlite3.Connection, group: list[_Append]) -> None:
        """Write one group in one transaction (or a tick if the group is empty)."""
        # Strictly increasing: once fusion has seen a received time, nothing later in the
        # journal can carry the same one, so a micro-batch it has closed stays closed.
        received_us = max(to_us(self._clock()), self._last_received_us + 1)
        received_at = from_us(received_us)
        try:
            conn.execute("BEGIN IMMEDIATE")
            existing = self._existing_seqs(conn, group)
            rows: list[tuple[int, str, str | None, int, bytes | None]] = []
            entries: list[JournalEntry] = []
            results: list[AppendResult] = []
            seq = self._written_seq
            for append in group:
                seqs: list[int] = []
                duplicates = 0
                for item in append.items:
                    key = key_of(item)
                    known = existing.get(key)
                    if known is not None:
                        seqs.append(known)
                        duplicates += 1
                        continue
                    seq += 1
                    row, entry = stamped(seq, key, item, received_at, received_us)
                    rows.append(row)
                    entries.append(entry)
                    existing[key] = seq
                    seqs.append(seq)
                ids = [item.id for item in append.items]
                results.append(AppendResult(ids=ids, seqs=seqs, duplicates=duplicates))
            if not group:
                seq += 1
                rows.append((seq, "tick", None, received_us, None))
                entries.append(JournalEntry(seq, received_at, None))
            if rows:
                conn.executemany(
                    "INSERT INTO journal (seq, kind, id, received_us, body) VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
            conn.execute("COMMIT")
        except Exception as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._hand_over([], [(append.future, exc) for append in group], None)
            return
        self._written_seq = seq
        self._last_received_us = received_us
        outcomes = [(append.future, result) for append, result in zip(group, results, strict=True)]
        self._hand_over(entries, outcomes, seq)

    def _existing_seqs(self, conn: sqlite3.Connection, group: list[_Append]) -> dict[str, int]:
        ids = list({key_of(item) for append in group for item in append.items})
        found = seqs_by_id(conn, "journal", ids, LOOKUP_CHUNK)
        if self._keeps_keys:
            # Repeats of entries trimmed away: their keys were kept.
            missing = [key for key in ids if key not in found]
            found.update(seqs_by_id(conn, "journal_kept_keys", missing, LOOKUP_CHUNK))
        return found

    def _hand_over(
        self,
        entries: list[JournalEntry],
        outcomes: Sequence[tuple[asyncio.Future[AppendResult], AppendResult | Exception]],
        last_seq: int | None,
    ) -> None:
        """Publish committed entries and answer callers, on the event loop's thread."""
        loop = self._loop
        assert loop is not None
        loop.call_soon_threadsafe(self._publish, entries, outcomes, last_seq)

    def _publish(
        self,
        entries: list[JournalEntry],
        outcomes: Sequence[tuple[asyncio.Future[AppendResult], AppendResult | Exception]],
        last_seq: int | None,
    ) -> None:
        self._recent.extend(entries)
        if last_seq is not None:
            self._visible_seq = last_seq
        for future, outcome in outcomes:
            if future.done():
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        if entries:
            self._committed.set()
            self._committed = asyncio.Event()

    # -- reading -----------------------------------------------------------------------

    async def wait(self, after_seq: int, timeout: float) -> int:
        if self._visible_seq <= after_seq:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._committed.wait(), timeout)
        return self._visible_seq

    async def read(self, after_seq: int, limit: int) -> list[JournalEntry]:
        if after_seq + 1 < self._first_seq:
            log.warning(
                "journal read after entry %d: entries up to %d were trimmed, reading from %d",
                after_seq,
                self._first_seq - 1,
                self._first_seq,
            )
            after_seq = self._first_seq - 1
        recent = self._recent
        if recent and recent[0].seq <= after_seq + 1:
            start = after_seq + 1 - recent[0].seq
            return [recent[i] for i in range(start, min(start + limit, len(recent)))]
        assert self._reader is not None
        return await asyncio.to_thread(self._reader.entries, after_seq, limit)

    async def received_after(self, seq: int) -> datetime | None:
        assert self._reader is not None
        return await asyncio.to_thread(self._reader.received_after, seq)

    async def reports(self, ids: Sequence[str]) -> dict[str, Report]:
        if not ids:
            return {}
        assert self._reader is not None
        return await asyncio.to_thread(self._reader.reports, list(ids))
