"""Appending to the JetStream journal's log (``jetstream.py`` tells the whole design):
appends queued in this process go out together as one transaction, its ids claimed and
its payload stored once, then its commit published right after the last one read, again
after each lost race; a writer blocked by another's pending transaction waits, makes way
or voids it. With ticks, a tick is committed whenever the log has been quiet."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from tessera.journal import jetstream_codec as codec
from tessera.journal.base import (
    AppendResult,
    JournalClosedError,
    JournalItem,
    JournalUnavailableError,
)
from tessera.journal.jetstream_log import StaleViewError
from tessera.journal.jetstream_view import LogView
from tessera.microseconds import from_us, to_us

log = logging.getLogger(__name__)


def _txn(born_ns: int) -> str:
    return f"{born_ns:020d}{uuid.uuid4().hex[:12]}"


class _Append:
    __slots__ = ("future", "items")

    def __init__(self, items: Sequence[JournalItem], future: asyncio.Future[AppendResult]) -> None:
        self.items = items
        self.future = future


class LogWriter(LogView):
    """The writer's side of the log; its task (``_writer``) is started and stopped by
    the journal that opens the log."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        subject: str,
        ticks: bool,
        tick_interval: float,
        max_group: int,
        stall_timeout: float,
        max_attempts: int,
        recent_window: int,
    ) -> None:
        super().__init__(recent_window=recent_window, records_fates=ticks)
        self._clock = clock
        self._subject = subject
        self._ticks = ticks
        self._tick_interval = tick_interval
        self._max_group = max_group
        self._stall_timeout = stall_timeout
        self._max_attempts = max_attempts
        self._queue: asyncio.Queue[_Append | None] = asyncio.Queue()
        self._limit = 0  # the largest commit payload, set when the log is opened
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    # -- appending ---------------------------------------------------------------------

    async def append(self, items: Sequence[JournalItem]) -> AppendResult:
        if self._closed or self._writer is None:
            raise JournalClosedError("the journal is not open")
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Append(items, future))
        return await future

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            idle = None
            if self._ticks:
                idle = max(0.001, self._last_commit_at + self._tick_interval - loop.time())
            try:
                first = await asyncio.wait_for(self._queue.get(), idle)
            except TimeoutError:
                if loop.time() - self._last_commit_at >= self._tick_interval:
                    await self._tick()
                continue
            if first is None:
                return
            group = [first]
            size = len(first.items)
            stop = False
            while size < self._max_group and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stop = True
                    break
                group.append(item)
                size += len(item.items)
            await self._commit(group)
            if stop:
                return

    async def _tick(self) -> None:
        try:
            await self._land(_txn(time.time_ns()), [], codec.pack([codec.TICK], self._limit))
        except StaleViewError:
            pass  # someone else committed meanwhile: no tick needed
        except Exception as exc:  # the writer must go on: the next tick may succeed
            log.warning("journal tick failed: %s", exc)

    async def _commit(self, group: list[_Append]) -> None:
        """Commit a group and answer its callers; never raises (the writer goes on).

        The ids are claimed and the payload stored once per transaction; losing the
        race for the next position then costs one more publish, not a new claim."""
        stored = self._stored()
        # Transaction ids start with the group's age: the older gets the right of way.
        born = time.time_ns()
        txn, plan = _txn(born), None
        outcome: list[AppendResult] | Exception = JournalUnavailableError(
            f"the journal's log stayed contended for {self._max_attempts} attempts"
        )
        try:
            for _ in range(self._max_attempts):
                if stored.voided(txn):
                    # Voided, by this writer making way or by one that gave up waiting
                    # for it: claim afresh.
                    txn, plan = _txn(born), None
                try:
                    if plan is None:
                        plan = await self._plan(txn, group)
                    if not plan.fresh:
                        outcome = plan.results(0)  # all of it was stored already
                        break
                    head = await self._land(txn, plan.fresh, plan.payloads)
                    outcome = plan.results(head.first_seq)
                    break
                except StaleViewError as stale:
                    await self._await_progress(stale, txn)
        except Exception as exc:  # every caller of the group is answered with it
            outcome = exc
        for index, append in enumerate(group):
            if append.future.done():
                continue
            if isinstance(outcome, Exception):
                append.future.set_exception(outcome)
            else:
                append.future.set_result(outcome[index])

    async def _plan(self, txn: str, group: list[_Append]) -> codec.Plan:
        """Claim the group's ids for ``txn``; lay out its commit (chunks stored)."""
        stored = self._stored()
        prepared: dict[str, codec.Prepared] = {}
        for append in group:
            for item in append.items:
                key = codec.item_key(item)
                if key not in prepared:
                    prepared[key] = codec.prepare(item)
        known = await stored.claim(txn, self._tail.stream_seq, list(prepared.values()))
        plan = codec.Plan([append.items for append in group], prepared, known)
        payloads = codec.pack(plan.parts, self._limit)
        if len(payloads) > 1:
            await stored.put_chunks(txn, payloads)
        plan.payloads = payloads
        return plan

    async def _land(
        self, txn: str, fresh: list[JournalItem], payloads: list[bytes], *, void: str = ""
    ) -> codec.Head:
        """Publish a commit directly after the last one read: ``fresh`` items (none for
        a tick or a void marker), stored as ``payloads`` (chunks when several)."""
        stored = self._stored()
        tail = self._tail
        if stored.voided(txn):
            raise StaleViewError(tail.stream_seq)
        received_us = max(to_us(self._clock()), tail.received_us + 1)
        chunks = len(payloads) if len(payloads) > 1 else 0
        count = 0 if void else len(fresh) or 1
        head = codec.Head(tail.stream_seq + 1, txn, tail.next_seq, count, received_us, chunks, void)
        await stored.publish(self._subject, head, b"" if chunks else payloads[0])
        received_at = from_us(received_us)
        if void:
            entries = []
        elif fresh:
            entries = [codec.entry(head.first_seq + i, received_at, x) for i, x in enumerate(fresh)]
        else:
            entries = [codec.entry(head.first_seq, received_at, None)]
        self._absorb(head, entries)
        await stored.record(head)
        return head

    async def _void(self, txn: str, view: int) -> None:
        """Commit a void marker: ``txn``, pending as of ``view``, can never land after
        it, so its claims are free to take."""
        if self._tail.stream_seq != view:
            raise StaleViewError(view)
        await self._land(_txn(time.time_ns()), [], [b"[]"], void=txn)

    async def _await_progress(self, stale: StaleViewError, txn: str) -> None:
        """Read on after a lost race. Blocked by another pending transaction: wait for
        it to land; make way after a moment if it is the older (so two writers never
        wait on each other); void it after ``stall_timeout`` (its writer died)."""
        if not stale.blocking:
            if not await self._advanced_past(stale.seen, self._stall_timeout):
                await self._catch_up()
                await asyncio.sleep(random.uniform(0.001, 0.05))
            return
        if await self._resolved(stale, self._stall_timeout / 10):
            return
        if stale.blocking < txn:
            with contextlib.suppress(StaleViewError):
                await self._void(txn, self._tail.stream_seq)
        if await self._resolved(stale, self._stall_timeout):
            return
        await self._catch_up()
        if not await self._resolved(stale, 0):
            with contextlib.suppress(StaleViewError):
                await self._void(stale.blocking, self._tail.stream_seq)

    async def _resolved(self, stale: StaleViewError, timeout: float) -> bool:
        """Whether the blocking transaction landed or was voided, waiting up to
        ``timeout`` for the log to say."""
        stored = self._stored()
        deadline = asyncio.get_running_loop().time() + timeout
        for _ in range(10_000):
            view = self._tail.stream_seq
            if await stored.status(stale.blocking, stale.floor, view) is not None:
                return True
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or not await self._advanced_past(view, remaining):
                return False
        return False
