"""The JetStream journal's log as one process sees it (``jetstream.py``): the last commit
it has absorbed, in order, from its own appends and from the follower (an ordered
consumer on the log), a window of recent entries for a reader following the tail, and
reads further back through the stored log. Appending is ``JetStreamJournal``'s."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence

from nats.aio.msg import Msg
from nats.js.errors import NotFoundError

from tessera.core.model import Report
from tessera.journal import jetstream_codec as codec
from tessera.journal.base import JournalClosedError, JournalEntry
from tessera.journal.jetstream_log import StoredLog

log = logging.getLogger(__name__)


class LogView:
    def __init__(self, *, recent_window: int, records_fates: bool) -> None:
        self._recent: deque[JournalEntry] = deque(maxlen=recent_window)
        self._tail = codec.Head(0, "", 1, 0, 0)  # the last commit absorbed (none yet)
        self._first_seq = 1  # the first entry held, as of the last trim seen here
        self._advanced = asyncio.Event()
        self._last_commit_at = 0.0
        self._log: StoredLog | None = None
        # The ticking process also records every transaction's fate, in case its writer
        # died before doing so.
        self._records_fates = records_fates

    @property
    def last_seq(self) -> int:
        return self._tail.next_seq - 1

    @property
    def first_seq(self) -> int:
        return self._first_seq

    def _trimmed(self, first_seq: int) -> None:
        self._first_seq = max(self._first_seq, first_seq)
        while self._recent and self._recent[0].seq < self._first_seq:
            self._recent.popleft()

    def _stored(self) -> StoredLog:
        if self._log is None:
            raise JournalClosedError("the journal is not open")
        return self._log

    async def _advanced_past(self, seen: int, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._tail.stream_seq <= seen:
                    await self._advanced.wait()
        return self._tail.stream_seq > seen

    # -- following the log -------------------------------------------------------------

    def _absorb(self, head: codec.Head, entries: list[JournalEntry]) -> None:
        """Make the commit after the last one absorbed visible (any other is ignored)."""
        if head.stream_seq != self._tail.stream_seq + 1:
            return
        if head.first_seq != self._tail.next_seq:
            raise RuntimeError(f"commit {head.stream_seq} does not continue the log")
        self._tail = head
        if self._log is not None:
            self._log.remember(head)
        self._recent.extend(entries)
        self._last_commit_at = asyncio.get_running_loop().time()
        self._advanced.set()
        self._advanced = asyncio.Event()

    async def _on_commit(self, msg: Msg) -> None:
        try:
            stored = self._stored()
            stream_seq = msg.metadata.sequence.stream
            if stream_seq > self._tail.stream_seq + 1:
                await self._catch_up()
            if stream_seq != self._tail.stream_seq + 1:
                return
            head = codec.head_of(stream_seq, msg.headers)
            entries: list[JournalEntry] = []
            if self._recent.maxlen:  # a process that never reads keeps no recent window
                entries = codec.entries_of(head, await stored.payloads(head, msg.data))
            self._absorb(head, entries)
            if self._records_fates:
                await stored.record(head)
        except Exception:
            log.exception("journal: could not read a commit; the next append catches up")

    async def _catch_up(self) -> None:
        stored = self._stored()
        last = await stored.last_position()
        for _ in range(last - self._tail.stream_seq):
            if self._tail.stream_seq >= last:
                return
            try:
                head, entries = await stored.fetch(self._tail.stream_seq + 1)
            except NotFoundError:
                first = await stored.held_from()
                if self._tail.stream_seq + 1 >= first:
                    raise
                self._skip_to(await stored.head(first))
                continue
            self._absorb(head, entries)

    def _skip_to(self, head: codec.Head) -> None:
        """Go on from ``head``, the first commit held: this process fell behind the
        trimmed front of the log (cut off for longer than the journal keeps). What it
        missed, saved states cover; a fusion worker reads from its checkpoint."""
        log.warning(
            "journal: commits %d to %d were trimmed before this process read them; "
            "going on from commit %d",
            self._tail.stream_seq + 1,
            head.stream_seq - 1,
            head.stream_seq,
        )
        self._tail = codec.Head(head.stream_seq - 1, "", head.first_seq, 0, head.received_us - 1)

    # -- reading -----------------------------------------------------------------------

    async def wait(self, after_seq: int, timeout: float) -> int:
        if self.last_seq <= after_seq:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._advanced.wait(), timeout)
        return self.last_seq

    async def read(self, after_seq: int, limit: int) -> list[JournalEntry]:
        recent = self._recent
        if recent and recent[0].seq <= after_seq + 1:
            start = after_seq + 1 - recent[0].seq
            return [recent[i] for i in range(start, min(start + limit, len(recent)))]
        if after_seq >= self.last_seq or limit <= 0:
            return []
        stored = self._stored()
        return await stored.read(after_seq, limit, self._tail.stream_seq)

    async def reports(self, ids: Sequence[str]) -> dict[str, Report]:
        if not ids:
            return {}
        stored = self._stored()
        return await stored.reports(ids, self._tail.stream_seq)
