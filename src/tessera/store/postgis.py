"""The scale-out track store: each picture's tracks and overlays in PostGIS (DESIGN §5).

Every read is answered from an in-memory replica, so the store keeps the synchronous
interface the web handlers, the stream and the CoT server use. ``open`` loads the replica
from the database: a restarted fusion worker or a new gateway starts from the last state
written. A *writer* (the fusion worker) then queues every change and a background task
writes them in order; a *reader* (a gateway) never writes, and is fed through ``apply``
from the change bus.

Changes are coalesced while they wait (per picture and item, only the latest state
counts) and written in one transaction per batch, together with the pictures' seq and
journal position: the database only ever moves from the state after one prefix of the
changes to the state after a longer one. The writer takes a batch only between event-loop
steps, so a worker that calls ``mark_journal`` in the same synchronous step as the
``apply`` calls it covers gets rows that are exactly the journal fused up to that mark.

A failed write is logged, reported (``healthy``, ``last_error``, ``failures``) and tried
again after a growing pause, on a new connection if the old one was lost; nothing is
dropped and nothing overtakes it. A fusion worker's writer writes under its ``fence``
(DESIGN §10): each transaction first checks the pictures' fence rows, and one that finds
a newer epoch deposes the worker and stops the writer for good, writing nothing more.

``query_tracks`` and ``query_overlays`` ask the database instead, with its spatial
indexes: they answer what is written, which for a writer may lag its replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any, Final

import msgspec
import psycopg

from tessera.core.model import Track
from tessera.core.overlays import Overlay
from tessera.postgis.connection import session_conninfo, usable
from tessera.postgis.migrate import MigrationError, check_schema
from tessera.store import postgis_rows as rows
from tessera.store.base import TrackQuery, TrackStore
from tessera.store.memory import MemoryTrackStore
from tessera.store.postgis_writer import Connection, PostgisStoreError, StoreWriter

__all__ = ["PostgisStoreError", "PostgisTrackStore"]
log = logging.getLogger(__name__)

BoxQuery = Callable[[str, rows.BBox], tuple[str, tuple[Any, ...]] | None]
# Rows fetched at a time while loading a picture, to bound the memory it takes.
_HYDRATE_CHUNK: Final = 2_000


class _State(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class PostgisTrackStore(StoreWriter, TrackStore):
    def __init__(
        self,
        dsn: str,
        pictures: Iterable[str],
        *,
        writer: bool,
        lineage_in_memory: bool = True,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 30.0,
    ) -> None:
        names = tuple(dict.fromkeys(pictures))
        conninfo = session_conninfo(dsn)
        super().__init__(names, conninfo, writer=writer, retry=(retry_initial_s, retry_max_s))
        # Without it (a gateway's copy), a track's lineage is read from the database when
        # asked for: it is most of a track's memory, and only a track's detail shows it.
        self._lineage_in_memory = lineage_in_memory
        self._memory = MemoryTrackStore(self._names)
        self._codec = rows.RowCodec()
        self._state = _State.NEW
        self._read_conn: Connection | None = None
        self._read_lock = asyncio.Lock()

    # -- opening and closing -----------------------------------------------------------

    async def open(self) -> None:
        """Check the schema and load every picture; a writer then starts writing."""
        if self._state is not _State.NEW:
            raise PostgisStoreError("the track store can be opened once")
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        try:
            await check_schema(conn)
            if self.writer:
                await conn.execute(rows.ENSURE_PICTURES, (list(self._names),))
            await self._hydrate(conn)
        except MigrationError as exc:
            await conn.close()
            raise PostgisStoreError(f"the track store cannot open: {exc}") from None
        except BaseException:
            await conn.close()
            raise
        self._read_conn = conn
        self._state = _State.OPEN
        if self.writer:
            self._writer_task = asyncio.create_task(self._write_loop(), name="postgis-writer")
            self._writer_task.add_done_callback(lambda _task: self._progressed())

    async def _hydrate(self, conn: Connection) -> None:
        # One snapshot: the seqs and journal positions match the rows read with them.
        async with conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor = await conn.execute(rows.PICTURES, (list(self._names),))
            stored = {
                str(name): (int(seq), int(journal))
                for name, seq, journal in await cursor.fetchall()
            }
            for name in self._names:
                seq, journal = stored.get(name, (0, 0))
                tracks = [
                    self._kept(self._codec.track(body))
                    async for body in _bodies(conn, rows.TRACKS_OF, name)
                ]
                overlays = [
                    self._codec.overlay(body)
                    async for body in _bodies(conn, rows.OVERLAYS_OF, name)
                ]
                self._memory.apply(name, seq, tracks, ())
                self._memory.apply_overlays(name, seq, overlays, ())
                self._queue.hydrated(name, (t.id for t in tracks), (o.id for o in overlays))
                self._journal[name] = journal

    async def close(self, timeout: float | None = None) -> None:
        """Write what is queued (waiting at most ``timeout`` seconds), then disconnect."""
        if self._state is not _State.OPEN:
            self._state = _State.CLOSED
            return
        try:
            if not self._deposed():  # a replaced worker writes nothing more
                await self.flush(timeout)
        except TimeoutError:
            # The journal still holds them: a worker replays from the stored position.
            log.error(
                "closing the track store with %d changes unwritten: %s",
                self.pending,
                self._last_error or "writing is slow",
            )
        finally:
            self._state = _State.CLOSED
            if self._writer_task is not None:
                self._writer_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._writer_task
            for conn in (self._write_conn, self._read_conn):
                if conn is not None:
                    await conn.close()
            self._write_conn = self._read_conn = None

    def _require_open(self) -> None:
        if self._state is not _State.OPEN:
            raise PostgisStoreError(f"the track store is {self._state.value}, not open")

    # -- changes -----------------------------------------------------------------------

    def apply(
        self, picture: str, seq: int, updated: Sequence[Track], removed: Sequence[str]
    ) -> None:
        self._require_open()
        kept = updated if self._lineage_in_memory else [self._kept(t) for t in updated]
        self._memory.apply(picture, seq, kept, removed)
        if self.writer:
            self._queue.put_tracks(picture, seq, updated, removed)
            self._wake.set()

    def apply_overlays(
        self, picture: str, seq: int, updated: Sequence[Overlay], removed: Sequence[str]
    ) -> None:
        self._require_open()
        self._memory.apply_overlays(picture, seq, updated, removed)
        if self.writer:
            self._queue.put_overlays(picture, seq, updated, removed)
            self._wake.set()

    def mark_journal(self, seq: int) -> None:
        """Every picture's rows are fused up to journal entry ``seq``: written with the
        changes queued before it, in the same transaction."""
        self._require_open()
        if not self.writer:
            raise PostgisStoreError("a reader does not write the journal position")
        self._queue.put_journal(seq)
        self._wake.set()

    # -- reads: the replica ------------------------------------------------------------

    def tracks(self, picture: str, query: TrackQuery) -> tuple[int, list[Track]]:
        return self._memory.tracks(picture, query)

    def track(self, picture: str, track_id: str) -> Track | None:
        return self._memory.track(picture, track_id)

    def seq(self, picture: str) -> int:
        return self._memory.seq(picture)

    def overlays(self, picture: str, query: TrackQuery) -> tuple[int, list[Overlay]]:
        return self._memory.overlays(picture, query)

    def overlay(self, picture: str, overlay_id: str) -> Overlay | None:
        return self._memory.overlay(picture, overlay_id)

    def _kept(self, track: Track) -> Track:
        if self._lineage_in_memory or not track.lineage:
            return track
        return msgspec.structs.replace(track, lineage=())

    # -- reads: the database -----------------------------------------------------------

    async def with_lineage(self, picture: str, track_id: str) -> Track | None:
        kept = self._memory.track(picture, track_id)
        if self._lineage_in_memory or kept is None:
            return kept
        self._require_open()
        try:
            async with self._read_lock:
                conn = await self._read_connection()
                found = await (await conn.execute(rows.TRACK, (picture, track_id))).fetchone()
        except (psycopg.Error, OSError) as exc:
            # The database is away: the track as kept, without its lineage, rather than
            # no answer (the next call connects again).
            log.warning("reading track %s's lineage failed: %s", track_id, exc)
            return kept
        # Not written yet (the worker writes a moment after it publishes): what is kept.
        return kept if found is None else self._codec.track(str(found[0]))

    async def query_tracks(self, picture: str, bbox: rows.BBox) -> list[Track]:
        """The picture's written tracks within a (west, south, east, north) box, by id."""
        return [
            self._codec.track(body) for body in await self._in_box(rows.tracks_in, picture, bbox)
        ]

    async def query_overlays(self, picture: str, bbox: rows.BBox) -> list[Overlay]:
        """The picture's written overlays whose shape meets the box, by id: the shape
        itself, where the replica's filter goes by its bounding box."""
        found = await self._in_box(rows.overlays_in, picture, bbox)
        return [self._codec.overlay(body) for body in found]

    async def _in_box(self, build: BoxQuery, picture: str, bbox: rows.BBox) -> list[str]:
        self._require_open()
        if picture not in self._journal:
            raise KeyError(picture)
        plan = build(picture, bbox)
        if plan is None:
            return []
        query, params = plan
        async with self._read_lock:
            conn = await self._read_connection()
            try:
                found = await (await conn.execute(query, params)).fetchall()
            except psycopg.OperationalError:
                if not conn.broken:
                    raise
                # Lost (a server restart, say): a read can simply be asked again.
                conn = await self._read_connection()
                found = await (await conn.execute(query, params)).fetchall()
        return [str(body) for (body,) in found]

    async def _read_connection(self) -> Connection:
        self._read_conn = await usable(self._read_conn, self._conninfo)
        return self._read_conn


async def _bodies(conn: Connection, query: str, picture: str) -> AsyncIterator[str]:
    """The bodies a query finds, a chunk at a time through a server-side cursor."""
    async with conn.cursor(name="tessera_hydrate") as cursor:
        await cursor.execute(query, (picture,))
        while chunk := await cursor.fetchmany(_HYDRATE_CHUNK):
            for (body,) in chunk:
                yield str(body)
