"""Taking history snapshots: after each step of the live fusion worker, once the journal's
clock has moved ``interval_s`` past the last snapshot, or the worker has applied
``max_entries`` journal entries since, every picture's state is encoded then and there
(nothing is applied meanwhile) and queued; a task compresses and writes the queue (off the
event loop) and drops the snapshots the journal no longer backs.

Bounding the entries as well as the time bounds a seek's replay on a busy journal: its
cost is the fusion of every entry between the snapshot and the time sought."""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import deque
from typing import Final

import msgspec

from tessera.core.fusion.base import Tracker
from tessera.core.fusion.checkpoint import encode_tracker
from tessera.core.fusion.engine import KalmanTracker
from tessera.fusion_worker import FusionWorker
from tessera.history.base import Snapshot, SnapshotStore
from tessera.journal.base import Journal
from tessera.store.base import TrackQuery, TrackStore

log = logging.getLogger(__name__)
# Snapshots waiting to be written at most: past that, one is skipped (the next comes later).
MAX_QUEUED: Final = 8
# zlib's fastest level: a picture's state shrinks about tenfold in a few milliseconds.
COMPRESSION: Final = 1


def compressed(snapshots: list[Snapshot]) -> list[Snapshot]:
    return [msgspec.structs.replace(s, body=zlib.compress(s.body, COMPRESSION)) for s in snapshots]


def _encode(tracker: Tracker) -> bytes:
    if not isinstance(tracker, KalmanTracker):
        raise TypeError(f"no snapshot of a {type(tracker).__name__}")
    return encode_tracker(tracker)


class Snapshotter:
    def __init__(
        self,
        *,
        worker: FusionWorker,
        store: TrackStore,
        snapshots: SnapshotStore,
        journal: Journal,
        fingerprints: dict[str, str],
        interval_s: float,
        max_entries: int | None = None,
    ) -> None:
        self._worker = worker
        self._store = store
        self._snapshots = snapshots
        self._journal = journal
        self._fingerprints = fingerprints
        self._interval = interval_s
        self._max_entries = max_entries
        self._last_position = 0
        self._queue: deque[list[Snapshot]] = deque()
        self._wake = asyncio.Event()
        # One writer at a time (the task, and a caller flushing).
        self._writing = asyncio.Lock()
        self._last_at: float | None = None
        self.taken = 0
        self.skipped = 0

    def attach(self) -> None:
        self._worker.on_applied.append(self.after_apply)

    def after_apply(self) -> None:
        moment = self._worker.time
        if moment is None:
            return
        now = moment.timestamp()
        position = self._worker.position
        recent = self._last_at is not None and now - self._last_at < self._interval
        few = self._max_entries is None or position - self._last_position < self._max_entries
        if recent and few:
            return
        if len(self._queue) >= MAX_QUEUED:
            self.skipped += 1
            return
        taken: list[Snapshot] = []
        for name, (journal_seq, _seq, body) in self._worker.snapshot(_encode).items():
            if journal_seq != position:
                continue  # restored ahead of the others: its state is not at this time
            _, overlays = self._store.overlays(name, TrackQuery())
            taken.append(
                Snapshot(
                    picture=name,
                    journal_seq=position,
                    at=moment,
                    fingerprint=self._fingerprints[name],
                    body=body,
                    overlays=msgspec.json.encode(overlays),
                )
            )
        self._last_at = now
        self._last_position = position
        if taken:
            self.taken += 1
            self._queue.append(taken)
            self._wake.set()

    async def write_queued(self) -> None:
        """Write every snapshot queued, then drop those the journal no longer backs."""
        async with self._writing:
            while self._queue:
                await self._snapshots.save(await asyncio.to_thread(compressed, self._queue[0]))
                self._queue.popleft()
            await self._snapshots.drop_before(self._journal.first_seq - 1)

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.write_queued()
            except Exception:
                # A snapshot lost costs a slower seek, never the live picture.
                log.exception("writing a history snapshot failed; trying again later")
                await asyncio.sleep(1.0)
                self._wake.set()
