"""The scale-out journal on NATS JetStream (DESIGN §5): any number of gateways append.

Layout (``jetstream_storage``): a stream holding only commits, one message each on
``<prefix>.log``, so a commit's stream sequence is its position in the log; beside it a
key-value bucket (``<stream>_INDEX``) with the chunks of commits larger than a message
(the server's max payload, 1 MiB), and another (``<stream>_CLAIMS``) with a claim per
stored report and overlay revision, by id, and where each transaction landed.

All or nothing: the server (2.9) has neither multi-message transactions nor atomic batch
publish (2.12), so an append becomes visible through one message, its commit, published
with ``Nats-Expected-Last-Sequence`` = the last commit this process has read: it lands
right after it or is refused, and the writer reads on and publishes again (one round
trip: claims and chunks are written once per transaction, invisible until it lands).
Appends queued in one process share a commit.

Sequence numbers are per item and contiguous: a commit carries its first item's number,
the previous commit's first plus its count. ``read`` finds old items by a binary search
over commit headers.

De-duplication is exact: within the de-duplication window (the claims bucket's max age;
no limit by default) by claims, after it through the long-term record (``StoredKeys``:
the PostGIS report archive), asked before claiming. A transaction claims each id with a
conditional create. An id claimed by a transaction that landed is a duplicate, answered
with its original number; by one that was voided, it is taken over; by one pending, the
writer waits. The younger of two transactions waiting on each other makes way (voids
itself); one pending past ``stall_timeout`` (its writer died) is voided by a void marker
in the log, after which it can never land. ``Nats-Msg-Id`` is the transaction id, so a
commit published again after an unknown outcome is stored once.

Received time: the appending process's clock, raised to a microsecond past the previous
commit's when not later, so strictly increasing along the log whatever the gateways'
clocks say (fusion closes micro-batches on it). Not the server's timestamp: known only
after the store, not injectable, and it may step back when the stream's leader moves.

Retention (``jetstream_retention``): ``trim`` purges the log's oldest commits, never one
holding an entry past what saved states cover; chunks go with their commit.

Ticks: with ``ticks=True`` this process commits a tick whenever no commit from anyone has
come for ``tick_interval`` (one such process per deployment is enough), and records each
transaction's fate in case its writer died before doing so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.subscription import Subscription
from nats.js.api import ConsumerConfig, DeliverPolicy

from tessera.journal import jetstream_codec as codec
from tessera.journal.base import (
    KEEP_ALL,
    Journal,
    Retention,
    StoredKeys,
)
from tessera.journal.jetstream_cursor import JournalCursor
from tessera.journal.jetstream_log import StoredLog
from tessera.journal.jetstream_retention import trim_log
from tessera.journal.jetstream_storage import ensure_storage
from tessera.journal.jetstream_writer import LogWriter
from tessera.microseconds import to_us

log = logging.getLogger(__name__)


class JetStreamJournal(LogWriter, Journal):
    def __init__(
        self,
        servers: str | Sequence[str],
        *,
        clock: Callable[[], datetime],
        stream: str = "TESSERA_JOURNAL",
        prefix: str = "tessera.journal",
        ticks: bool = False,
        tick_interval: float = 1.0,
        duplicate_window: float = 600.0,
        replicas: int = 1,
        max_group: int = 20_000,
        recent_window: int = 20_000,
        max_commit_bytes: int | None = None,
        stall_timeout: float = 1.0,
        max_attempts: int = 100,
        request_timeout: float = 10.0,
        cursor: str | None = None,
        cursor_ack_wait: float = 3_600.0,
        retention: Retention = KEEP_ALL,
        stored_keys: StoredKeys | None = None,
    ) -> None:
        super().__init__(
            clock=clock,
            subject=f"{prefix}.log",
            ticks=ticks,
            tick_interval=tick_interval,
            max_group=max_group,
            stall_timeout=stall_timeout,
            max_attempts=max_attempts,
            recent_window=recent_window,
        )
        self._servers = [servers] if isinstance(servers, str) else list(servers)
        self._stream = stream
        self._duplicate_window = duplicate_window
        self._replicas = replicas
        self._max_commit_bytes = max_commit_bytes
        self._request_timeout = request_timeout
        self._nc: Client | None = None
        self._follower: Subscription | None = None
        self._cursor_name = cursor
        self._cursor_ack_wait = cursor_ack_wait
        self._cursor: JournalCursor | None = None
        self._retention = retention
        self._stored_keys = stored_keys
        self._trimming = asyncio.Lock()

    # -- opening and closing ---------------------------------------------------------------

    async def open(self) -> None:
        nc = await nats.connect(
            servers=self._servers, name="tessera-journal", max_reconnect_attempts=-1
        )
        self._nc = nc
        try:
            js = nc.jetstream(timeout=self._request_timeout)
            self._limit = self._max_commit_bytes or nc.max_payload - codec.HEADROOM
            storage = await ensure_storage(
                js,
                self._stream,
                self._subject,
                replicas=self._replicas,
                duplicate_window=self._duplicate_window,
                claims_age=self._retention.dedup_window_s,
            )
            state = (await js.stream_info(self._stream)).state
            last = state.last_seq
            self._log = StoredLog(
                js,
                storage.index,
                storage.claims,
                self._stream,
                direct=storage.direct,
                horizon=last + 1,
                stored_keys=self._stored_keys,
                claims_expire=self._retention.dedup_window_s is not None and storage.purgeable,
            )
            if last:
                self._tail = await self._log.head(last)
                self._log.first_position = state.first_seq
                self._first_seq = (await self._log.head(state.first_seq)).first_seq
            self._last_commit_at = asyncio.get_running_loop().time()
            start = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=last + 1
            )
            self._follower = await js.subscribe(
                self._subject,
                stream=self._stream,
                cb=self._on_commit,
                ordered_consumer=True,
                config=start,
            )
            if self._cursor_name is not None:
                self._cursor = JournalCursor(
                    nc,
                    js,
                    stream=self._stream,
                    subject=self._subject,
                    name=self._cursor_name,
                    ack_wait=self._cursor_ack_wait,
                )
                await self._cursor.open()
        except BaseException:
            await nc.close()
            raise
        self._writer = asyncio.create_task(self._write_loop(), name="journal-writer")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            # Appends already queued are committed first.
            self._queue.put_nowait(None)
            await self._writer
        if self._follower is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._follower.unsubscribe()
        if self._cursor is not None:
            await self._cursor.close()
        if self._nc is not None:
            await self._nc.drain()

    # -- the reader's place (a fusion worker's) -----------------------------------------

    @property
    def cursor_position(self) -> int | None:
        """The journal position the durable consumer ``cursor`` is acknowledged up to
        (``jetstream_cursor``); None without one."""
        return None if self._cursor is None else self._cursor.position

    async def acknowledge(self, position: int) -> int:
        """Advance the cursor over every commit that ends at or before ``position`` (a
        saved checkpoint covers it); the position acknowledged now."""
        if self._cursor is None:
            raise RuntimeError("this journal was opened without a cursor")
        return await self._cursor.advance(position, self._tail.stream_seq)

    # -- retention ---------------------------------------------------------------------

    async def trim(self, covered: int) -> int:
        """Purge the log's oldest commits the retention settings let go, none holding an
        entry past ``covered``. One process trims a deployment's journal (the report
        archive's lease holder); a trim here waits for the previous one."""
        if not self._retention.trims:
            return self._first_seq
        async with self._trimming:
            stored = self._stored()
            assert self._nc is not None
            done = await trim_log(
                self._nc.jetstream(timeout=self._request_timeout),
                stored,
                self._stream,
                self._retention,
                covered=covered,
                last_entry=self.last_seq,
                now_us=to_us(self._clock()),
            )
            self._trimmed(done.first_seq)
            if done.commits:
                log.info(
                    "journal trimmed: %d entries (%d commits) dropped, first entry held %d",
                    done.entries,
                    done.commits,
                    self._first_seq,
                )
        return self._first_seq
