"""The change feed: every change to a picture, sequenced, fanned out to subscribers.

A change is to a track or to an overlay; both share the picture's sequence. Each
subscriber has its own coalescing buffer holding at most the latest change per track and
per overlay, so publishing never waits on a subscriber, a slow one only receives fewer,
fresher updates, and its memory is bounded by what is in its view.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Literal

import msgspec

from tessera.core.model import Track
from tessera.core.overlays import Overlay
from tessera.store.base import TrackQuery
from tessera.store.overlay_shapes import ShapeMemo

ChangeKind = Literal["track", "overlay"]


class Change(msgspec.Struct, frozen=True):
    """One track's or overlay's change on one picture: ``track`` (or ``overlay``) is
    ``None`` when it left the picture. ``feature`` is its GeoJSON, encoded once and shared
    by every subscriber."""

    seq: int
    item_id: str
    track: Track | None
    feature: msgspec.Raw | None
    kind: ChangeKind = "track"
    overlay: Overlay | None = None

    @property
    def key(self) -> Hashable:
        """What the change coalesces on: tracks and overlays have separate id spaces."""
        return self.item_id if self.kind == "track" else overlay_key(self.item_id)

    @property
    def removed(self) -> bool:
        return self.feature is None

    def matches(self, query: TrackQuery, shapes: ShapeMemo | None = None) -> bool:
        """Whether the change is within the filter; ``shapes`` keeps overlays' shapes
        drawn for other filters."""
        if self.kind == "overlay":
            return self.overlay is not None and query.matches_overlay(self.overlay, shapes)
        return self.track is not None and query.matches(self.track)


def overlay_key(overlay_id: str) -> tuple[str, str]:
    return ("overlay", overlay_id)


def removal(change: Change) -> Change:
    return Change(change.seq, change.item_id, None, None, change.kind)


class Subscriber:
    """A subscriber's filter and coalescing buffer.

    It also keeps its floor: the seq its client holds the picture at (the snapshot's, or
    ``since``), raised to the newest change queued. A change at or below it is dropped
    however it arrives (a gateway refilling its window, a message delivered again), so a
    client never gets a change older than what it holds, and takes come in seq order."""

    def __init__(
        self, query: TrackQuery, *, visible: Iterable[Hashable] | None, after: int = -1
    ) -> None:
        self.query = query
        self._after = after
        self._pending: dict[Hashable, Change] = {}
        self._ready = asyncio.Event()
        # Keys of the tracks and overlays the client holds; None: unknown (a resumed
        # client), so a change that leaves the filter is always sent as a removal.
        self._visible: set[Hashable] | None = None if visible is None else set(visible)
        self.closed = False

    def offer(self, change: Change) -> None:
        self.offer_many((change,), (change.matches(self.query),))

    def offer_many(self, changes: Sequence[Change], matched: Sequence[bool]) -> None:
        """Queue ``changes``; ``matched[i]`` says whether change i passes this
        subscriber's filter (worked out once for every subscriber with the same one)."""
        pending = self._pending
        visible = self._visible
        after = self._after
        newest = after
        queued = False
        for change, match in zip(changes, matched, strict=True):
            seq = change.seq
            if seq <= after:
                continue
            if seq > newest:
                newest = seq
            key = change.key
            if match:
                if visible is not None:
                    visible.add(key)
                pending[key] = change
                queued = True
            elif visible is None or key in visible:
                if visible is not None:
                    visible.discard(key)
                pending[key] = change if change.removed else removal(change)
                queued = True
        # Raised once the batch is in: a batch is queued whole, whatever its order.
        self._after = newest
        if queued:
            self._ready.set()

    @property
    def after(self) -> int:
        """The seq this subscriber's client holds: only newer changes are queued."""
        return self._after

    def start_after(self, seq: int) -> None:
        """The client holds the picture at ``seq`` (a snapshot's, or its ``since``): only
        changes after it are queued from now on; anything pending at or before it goes."""
        self._after = seq
        self._pending = {key: c for key, c in self._pending.items() if c.seq > seq}

    def reset_visible(self, keys: Iterable[Hashable]) -> None:
        """The client now holds exactly these (track ids and `overlay_key`s): it was just
        sent a snapshot."""
        self._visible = set(keys)

    def pending_count(self) -> int:
        return len(self._pending)

    async def take(self) -> list[Change]:
        """Wait for changes, then take them all (the latest per item, in seq order)."""
        await self._ready.wait()
        self._ready.clear()
        changes = sorted(self._pending.values(), key=lambda change: change.seq)
        self._pending = {}
        return changes

    def wake(self) -> None:
        self._ready.set()


class ChangeBus(abc.ABC):
    async def open(self, after: Mapping[str, int] | None = None) -> None:  # noqa: B027
        """Connect (a bus between processes; the in-process bus needs nothing). ``after``:
        the seq each picture's copy in this process holds (a gateway's store), where
        following the feed of another process starts; None: nothing is held yet."""

    async def close(self) -> None:  # noqa: B027
        """Send what is queued, then disconnect."""

    @abc.abstractmethod
    def publish(self, picture: str, changes: list[Change]) -> None:
        """Retain and fan out; never blocks."""

    @abc.abstractmethod
    def attach(self, picture: str, subscriber: Subscriber, since: int | None) -> bool:
        """Register ``subscriber``, from ``since`` on (its floor: nothing at or before it
        reaches the subscriber). With ``since`` inside the retained window, queue every
        retained change after it and return True; otherwise return False (the caller
        sends a snapshot first, then attaches again from the snapshot's seq)."""

    @abc.abstractmethod
    def detach(self, picture: str, subscriber: Subscriber) -> None: ...

    def continue_at(self, picture: str, seq: int) -> None:  # noqa: B027 - optional
        """The picture's changes go on from ``seq`` (restored from a checkpoint): a bus
        that does not outlive the process starts its count there, never below."""

    @abc.abstractmethod
    def last_seq(self, picture: str) -> int: ...

    async def begin_epoch(self, picture: str, epoch: int) -> int:
        """A fusion worker that took the picture over under lease ``epoch`` publishes
        from now on; the highest change seq published on the picture before, for its
        seqs to go on above (DESIGN §10). A bus within one process has one publisher."""
        return self.last_seq(picture)

    @abc.abstractmethod
    def subscriber_count(self, picture: str) -> int: ...
