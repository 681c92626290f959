"""Follows the journal and keeps every picture: one tracker per audience (DESIGN §3, §4).

Each picture's tracker sees only the reports its admission rule accepts. The worker owns
the order of things: read entries in journal order, step each tracker with the journal's
clock, then record the changes in the store and publish them on the bus, sequenced per
picture. Overlays are not fused: a revision enters every picture whose rule admits its
label, and leaves one that held it when it is deleted or relabelled out of reach.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

import msgspec

from tessera.bus.base import Change, ChangeBus
from tessera.codecs.geojson import track_feature
from tessera.codecs.geojson_export import overlay_feature
from tessera.codecs.json import encode
from tessera.core.fusion.base import Tracker
from tessera.core.labels import ClassificationScheme, Picture, admits
from tessera.core.model import Report
from tessera.core.overlays import Overlay, OverlayRevision
from tessera.journal.base import Journal, JournalEntry
from tessera.store.base import TrackStore

log = logging.getLogger(__name__)

TrackerFactory = Callable[[Picture], Tracker]
PROGRESS_EVERY = 100_000


class _PictureFusion:
    __slots__ = ("picture", "position", "seq", "tracker")

    def __init__(self, picture: Picture, tracker: Tracker) -> None:
        self.picture = picture
        self.tracker = tracker
        self.seq = 0
        # The journal position the tracker has taken in (a restored one may be ahead).
        self.position = 0


class FusionWorker:
    def __init__(
        self,
        *,
        journal: Journal,
        store: TrackStore,
        bus: ChangeBus,
        pictures: Sequence[Picture],
        scheme: ClassificationScheme,
        tracker_factory: TrackerFactory,
        chunk: int = 2_000,
    ) -> None:
        self._journal = journal
        self._store = store
        self._bus = bus
        self._scheme = scheme
        self._chunk = chunk
        self._pictures = [_PictureFusion(picture, tracker_factory(picture)) for picture in pictures]
        self.position = 0
        # Set once everything the journal held at start is applied (catch_up).
        self._caught_up = asyncio.Event()
        self._replay_from = 0
        self._replay_target = 0
        # The journal time of the last entry applied, and what runs after each apply
        # (history's snapshots: synchronous, nothing is applied meanwhile).
        self.time: datetime | None = None
        self.on_applied: list[Callable[[], None]] = []

    async def catch_up(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Apply everything the journal holds now, yielding to the event loop between
        chunks (a server answers meanwhile, from the picture restored so far);
        ``progress(done, total)`` is called every ``PROGRESS_EVERY`` entries."""
        # A store that outlives the process (PostGIS) already holds each picture at some
        # seq: changes go on from there, so a change feed's seq never runs backwards.
        for fusion in self._pictures:
            fusion.seq = max(fusion.seq, self._store.seq(fusion.picture.name))
        self._replay_from = self.position
        self._replay_target = target = self._journal.last_seq
        reported = self.position
        while self.position < target:
            await self._apply_next()
            if progress is not None and self.position - reported >= PROGRESS_EVERY:
                reported = self.position
                progress(self.position, target)
            await asyncio.sleep(0)
        if progress is not None and reported != self._replay_from:
            progress(self.position, target)
        self._caught_up.set()

    @property
    def caught_up(self) -> bool:
        """Whether the worker has applied what the journal held when it started."""
        return self._caught_up.is_set()

    async def wait_until_caught_up(self) -> None:
        await self._caught_up.wait()

    def replay_progress(self) -> float:
        """How much of the journal's tail at start is applied, from 0 to 1."""
        if self._caught_up.is_set():
            return 1.0
        span = self._replay_target - self._replay_from
        if span <= 0:
            return 0.0
        return min(max((self.position - self._replay_from) / span, 0.0), 1.0)

    @property
    def replay_target(self) -> int:
        """The journal's last entry when the worker started catching up."""
        return self._replay_target

    async def run(self) -> None:
        """Follow the journal until cancelled."""
        while True:
            if self.position >= self._journal.last_seq:
                await self._journal.wait(self.position, timeout=1.0)
                continue
            await self._apply_next()
            # Let the server answer requests between chunks.
            await asyncio.sleep(0)

    async def wait_caught_up(self, seq: int, timeout: float) -> bool:
        """Wait until the worker has applied journal entry ``seq`` (for tests and tools)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.position < seq or self.pending_reports():
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def snapshot(self, encode: Callable[[Tracker], bytes]) -> dict[str, tuple[int, int, bytes]]:
        """Each picture's journal position, change seq and encoded tracker state
        (synchronous: nothing is applied while it is taken)."""
        return {f.picture.name: (f.position, f.seq, encode(f.tracker)) for f in self._pictures}

    def restore(self, states: Mapping[str, tuple[int, int, Tracker]]) -> None:
        """Continue from saved states: each picture's journal position, change seq and
        tracker. A picture without one starts from the journal's beginning; the worker
        reads on from the least position, each picture taking in only what is new to it."""
        for fusion in self._pictures:
            if fusion.picture.name in states:
                position, seq, tracker = states[fusion.picture.name]
                fusion.tracker = tracker
                fusion.seq = max(fusion.seq, seq)
                fusion.position = position
        self.position = min(fusion.position for fusion in self._pictures)

    def tracker(self, picture: str) -> Tracker:
        for fusion in self._pictures:
            if fusion.picture.name == picture:
                return fusion.tracker
        raise KeyError(picture)

    def fill_store(self, overlays: Mapping[str, Sequence[Overlay]]) -> None:
        """Put each picture into a store that starts empty: its restored tracker's tracks
        and its overlays (``overlays``: those restored), at its change seq, which the bus
        then counts on from."""
        for fusion in self._pictures:
            name = fusion.picture.name
            tracks = list(fusion.tracker.tracks())
            self._store.apply(name, fusion.seq, tracks, [])
            self._store.apply_overlays(name, fusion.seq, overlays.get(name, []), [])
            self._bus.continue_at(name, fusion.seq)

    def continue_above(self, picture: str, seq: int) -> None:
        """The picture's next change is numbered above ``seq`` (the highest an earlier
        worker published), so its change feed never runs backwards."""
        for fusion in self._pictures:
            if fusion.picture.name == picture:
                fusion.seq = max(fusion.seq, seq)

    def pending_reports(self) -> int:
        return sum(fusion.tracker.pending_reports() for fusion in self._pictures)

    async def _apply_next(self) -> None:
        entries = await self._journal.read(self.position, self._chunk)
        if entries:
            # Commits are atomic and received times strictly increase from one to the
            # next, so unless the read was cut short by its limit, nothing received at or
            # before the last entry's time is still to come.
            whole = len(entries) < self._chunk or entries[-1].seq >= self._journal.last_seq
            self.apply(entries, complete=whole)

    def apply(self, entries: Sequence[JournalEntry], *, complete: bool = True) -> None:
        now = entries[-1].received_at
        if not complete:
            now -= timedelta(microseconds=1)
        last = entries[-1].seq
        reports = [entry.report for entry in entries if entry.report is not None]
        revisions = [entry.overlay for entry in entries if entry.overlay is not None]
        for fusion in self._pictures:
            if fusion.position >= last:
                continue  # restored past these entries: they are in its state already
            if fusion.position < entries[0].seq:
                self._step(fusion, now, reports, revisions)
            else:
                fresh = [entry for entry in entries if entry.seq > fusion.position]
                self._step(
                    fusion,
                    now,
                    [entry.report for entry in fresh if entry.report is not None],
                    [entry.overlay for entry in fresh if entry.overlay is not None],
                )
            fusion.position = last
        self.position = last
        self.time = entries[-1].received_at
        # In the same synchronous step as the changes above: a store writing in batches
        # records the journal position together with the rows it covers.
        self._store.mark_journal(self.position)
        for hook in self.on_applied:
            hook()

    def _step(
        self,
        fusion: _PictureFusion,
        now: datetime,
        reports: list[Report],
        revisions: list[OverlayRevision],
    ) -> None:
        changes: list[Change] = []
        if revisions:
            changes += self._apply_overlays(fusion, revisions)
        admitted = self._admitted(fusion.picture, reports)
        result = fusion.tracker.step(now, admitted)
        if result.updated or result.removed:
            seq = fusion.seq
            for track in result.updated:
                seq += 1
                feature = msgspec.Raw(encode(track_feature(track)))
                changes.append(Change(seq, track.id, track, feature))
            for track_id in result.removed:
                seq += 1
                changes.append(Change(seq, track_id, None, None))
            fusion.seq = seq
            self._store.apply(fusion.picture.name, seq, result.updated, result.removed)
        if changes:
            self._bus.publish(fusion.picture.name, changes)

    def _apply_overlays(
        self, fusion: _PictureFusion, revisions: list[OverlayRevision]
    ) -> list[Change]:
        name = fusion.picture.name
        # The latest revision of each overlay in this chunk is what the picture ends with.
        latest = {revision.overlay_id: revision for revision in revisions}
        updated: list[Overlay] = []
        removed: list[str] = []
        changes: list[Change] = []
        seq = fusion.seq
        for overlay_id, revision in latest.items():
            overlay = revision.overlay
            if overlay is not None and admits(fusion.picture, overlay.label, self._scheme):
                seq += 1
                updated.append(overlay)
                feature = msgspec.Raw(encode(overlay_feature(overlay)))
                changes.append(Change(seq, overlay_id, None, feature, "overlay", overlay))
            elif self._store.overlay(name, overlay_id) is not None:
                seq += 1
                removed.append(overlay_id)
                changes.append(Change(seq, overlay_id, None, None, "overlay"))
        if changes:
            fusion.seq = seq
            self._store.apply_overlays(name, seq, updated, removed)
        return changes

    def _admitted(self, picture: Picture, reports: list[Report]) -> list[Report]:
        return [report for report in reports if admits(picture, report.label, self._scheme)]
