"""Taking history snapshots: after each step of the live fusion worker, once the journal's
clock has moved ``interval_s`` past the last snapshot, every picture's state is encoded
then and there (nothing is applied meanwhile) and queued; a task writes the queue and
drops the snapshots the journal no longer backs."""

from __future__ import annotations

import asyncio
import logging
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
    ) -> None:
        self._worker = worker
        self._store = store
        self._snapshots = snapshots
        self._journal = journal
        self._fingerprints = fingerprints
        self._interval = interval_s
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
        if self._last_at is not None and now - self._last_at < self._interval:
            return
        if len(self._queue) >= MAX_QUEUED:
            self.skipped += 1
            return
        position = self._worker.position
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
        if taken:
            self.taken += 1
            self._queue.append(taken)
            self._wake.set()

    async def write_queued(self) -> None:
        """Write every snapshot queued, then drop those the journal no longer backs."""
        async with self._writing:
            while self._queue:
                await self._snapshots.save(self._queue[0])
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
