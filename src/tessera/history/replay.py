"""One picture replayed from the journal: a fusion worker of its own over a memory store,
started from a snapshot (or the journal's beginning) and moved forward to a time.

Entries are applied exactly as the live worker applied them: in journal order, each
picture's tracker stepped on the journal's clock, a cut inside one commit marked
incomplete. Fusion does not depend on how the journal is cut into chunks, so the picture
after every entry up to T is the picture the live server showed at T.

A replay that shows pictures at times, not each step (the stream's, whose changes between
two messages are coalesced anyway), may jump to a later snapshot instead of replaying up to
it: the picture then is the snapshot's, and what changed meanwhile is told as the
difference. Fusing the journal costs far more than decoding a snapshot.
"""

from __future__ import annotations

import bisect
import zlib
from datetime import datetime
from typing import Final

import msgspec

from tessera.bus.base import Change, ChangeBus, Subscriber
from tessera.codecs.geojson import track_feature
from tessera.codecs.geojson_export import overlay_feature
from tessera.codecs.json import encode
from tessera.core.fusion.checkpoint import decode_tracker
from tessera.core.fusion.engine import FusionSettings, KalmanTracker
from tessera.core.labels import ClassificationScheme, Picture
from tessera.core.model import Track
from tessera.core.overlays import Overlay
from tessera.fusion_worker import FusionWorker
from tessera.history.base import Snapshot
from tessera.journal.base import Journal, JournalEntry
from tessera.store.base import TrackQuery
from tessera.store.memory import MemoryTrackStore

READ_CHUNK: Final = 2_000
_OVERLAYS: Final = msgspec.json.Decoder(list[Overlay])


class CollectingBus(ChangeBus):
    """A change bus that only keeps what was published, for the replay to hand on."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self._last: dict[str, int] = {}

    def publish(self, picture: str, changes: list[Change]) -> None:
        self.changes.extend(changes)
        self._last[picture] = changes[-1].seq

    def take(self) -> list[Change]:
        taken, self.changes = self.changes, []
        return taken

    def attach(self, picture: str, subscriber: Subscriber, since: int | None) -> bool:
        raise NotImplementedError("nobody subscribes to a replay's bus")

    def detach(self, picture: str, subscriber: Subscriber) -> None:
        del picture, subscriber

    def last_seq(self, picture: str) -> int:
        return self._last.get(picture, 0)

    def subscriber_count(self, picture: str) -> int:
        del picture
        return 0


class PastPicture:
    def __init__(
        self,
        *,
        picture: Picture,
        journal: Journal,
        scheme: ClassificationScheme,
        settings: FusionSettings,
    ) -> None:
        self.picture = picture
        self._journal = journal
        self._scheme = scheme
        self._settings = settings
        self.store, self.bus, self.worker = self._fresh()
        # Entries read but not applied yet (the first is past the time reached).
        self._ahead: list[JournalEntry] = []
        self._read_to = 0
        self.at: datetime | None = None
        self.ended = False
        self.jumps = 0

    def _fresh(self) -> tuple[MemoryTrackStore, CollectingBus, FusionWorker]:
        store = MemoryTrackStore([self.picture.name])
        bus = CollectingBus()
        scheme, settings = self._scheme, self._settings
        worker = FusionWorker(
            journal=self._journal,
            store=store,
            bus=bus,
            pictures=[self.picture],
            scheme=scheme,
            tracker_factory=lambda _picture: KalmanTracker(scheme, settings),
        )
        return store, bus, worker

    def start_from(self, snapshot: Snapshot) -> None:
        """Continue from ``snapshot`` (raises ValueError if it cannot be read)."""
        try:
            body = zlib.decompress(snapshot.body)
        except zlib.error as exc:
            raise ValueError(f"the snapshot's state cannot be read: {exc}") from None
        tracker = decode_tracker(body, self._scheme, self._settings)
        try:
            overlays = _OVERLAYS.decode(snapshot.overlays) if snapshot.overlays else []
        except msgspec.DecodeError as exc:
            raise ValueError(f"the snapshot's overlays cannot be read: {exc}") from None
        name = self.picture.name
        self.worker.restore({name: (snapshot.journal_seq, 0, tracker)})
        self.worker.fill_store({name: overlays})
        self._read_to = snapshot.journal_seq
        self.at = snapshot.at

    def jump_to(self, snapshot: Snapshot) -> None:
        """Continue from ``snapshot``, later than what is applied, without replaying up to
        it; what changed meanwhile comes as changes (raises ValueError if it cannot be
        read, the picture then unchanged)."""
        query = TrackQuery()
        before = {track.id: track for track in self.tracks(query)}
        shown = {overlay.id: overlay for overlay in self.overlays(query)}
        pending = self.bus.take()
        previous = self.store, self.bus, self.worker
        self.store, self.bus, self.worker = self._fresh()
        try:
            self.start_from(snapshot)
        except ValueError:
            self.store, self.bus, self.worker = previous
            self.bus.changes = pending
            raise
        self.worker.on_applied.extend(previous[2].on_applied)
        self._ahead = []
        self.ended = False
        self.jumps += 1
        self.bus.changes = pending + self._difference(before, shown)

    def _difference(self, before: dict[str, Track], shown: dict[str, Overlay]) -> list[Change]:
        """The changes from ``before`` and ``shown`` to the picture now."""
        query = TrackQuery()
        changes: list[Change] = []
        for track in self.tracks(query):
            if before.pop(track.id, None) != track:
                feature = msgspec.Raw(encode(track_feature(track)))
                changes.append(Change(0, track.id, track, feature))
        changes += [Change(0, track_id, None, None) for track_id in before]
        for overlay in self.overlays(query):
            if shown.pop(overlay.id, None) != overlay:
                feature = msgspec.Raw(encode(overlay_feature(overlay)))
                changes.append(Change(0, overlay.id, None, feature, "overlay", overlay))
        changes += [Change(0, overlay_id, None, None, "overlay") for overlay_id in shown]
        return changes

    @property
    def position(self) -> int:
        return self.worker.position

    async def _read(self) -> list[JournalEntry]:
        entries = await self._journal.read(self._read_to, READ_CHUNK)
        if entries:
            self._read_to = entries[-1].seq
        return entries

    async def advance_to(self, at: datetime) -> None:
        """Apply every journal entry received at or before ``at``."""
        while True:
            if not self._ahead:
                self._ahead = await self._read()
                if not self._ahead:
                    self.ended = True
                    break
            times = [entry.received_at for entry in self._ahead]
            reached = bisect.bisect_right(times, at)
            if reached == 0:
                break
            if reached < len(self._ahead):
                # The next entry is later than ``at``: a commit ends here.
                self.worker.apply(self._ahead[:reached], complete=True)
                self._ahead = self._ahead[reached:]
                break
            following = await self._read()
            if not following:
                self.worker.apply(self._ahead, complete=True)
                self._ahead = []
                self.ended = True
                break
            self.worker.apply(
                self._ahead, complete=following[0].received_at > self._ahead[-1].received_at
            )
            self._ahead = following
        self.at = at if self.at is None else max(self.at, at)

    async def peek(self) -> datetime | None:
        """When the next entry not yet applied was received (None: the journal holds no
        more for now)."""
        if not self._ahead:
            self._ahead = await self._read()
        return self._ahead[0].received_at if self._ahead else None

    def tracks(self, query: TrackQuery) -> list[Track]:
        return self.store.tracks(self.picture.name, query)[1]

    def overlays(self, query: TrackQuery) -> list[Overlay]:
        return self.store.overlays(self.picture.name, query)[1]

    def take_changes(self) -> list[Change]:
        """What the replay changed since last asked."""
        return self.bus.take()
