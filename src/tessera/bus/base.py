"""The change feed: every change to a picture, sequenced, fanned out to subscribers.

A change is to a track or to an overlay; both share the picture's sequence. Each
subscriber has its own coalescing buffer holding at most the latest change per track and
per overlay, so publishing never waits on a subscriber, a slow one only receives fewer,
fresher updates, and its memory is bounded by what is in its view.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Hashable, Iterable, Sequence
from typing import Literal

import msgspec

from tessera.core.model import Track
from tessera.core.overlays import Overlay
from tessera.store.base import TrackQuery

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

    def matches(self, query: TrackQuery) -> bool:
        if self.kind == "overlay":
            return self.overlay is not None and query.matches_overlay(self.overlay)
        return self.track is not None and query.matches(self.track)


def overlay_key(overlay_id: str) -> tuple[str, str]:
    return ("overlay", overlay_id)


def removal(change: Change) -> Change:
    return Change(change.seq, change.item_id, None, None, change.kind)


class Subscriber:
    """A subscriber's filter and coalescing buffer."""

    def __init__(self, query: TrackQuery, *, visible: Iterable[Hashable] | None) -> None:
        self.query = query
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
        queued = False
        for change, match in zip(changes, matched, strict=True):
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
        if queued:
            self._ready.set()

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
    async def open(self) -> None:  # noqa: B027 - optional: the in-process bus needs nothing
        """Connect (a bus between processes)."""

    async def close(self) -> None:  # noqa: B027
        """Send what is queued, then disconnect."""

    @abc.abstractmethod
    def publish(self, picture: str, changes: list[Change]) -> None:
        """Retain and fan out; never blocks."""

    @abc.abstractmethod
    def attach(self, picture: str, subscriber: Subscriber, since: int | None) -> bool:
        """Register ``subscriber``. With ``since`` inside the retained window, queue every
        retained change after it and return True; otherwise return False (the caller
        sends a snapshot first)."""

    @abc.abstractmethod
    def detach(self, picture: str, subscriber: Subscriber) -> None: ...

    @abc.abstractmethod
    def last_seq(self, picture: str) -> int: ...

    async def begin_epoch(self, picture: str, epoch: int) -> int:
        """A fusion worker that took the picture over under lease ``epoch`` publishes
        from now on; the highest change seq published on the picture before, for its
        seqs to go on above (DESIGN §10). A bus within one process has one publisher."""
        return self.last_seq(picture)

    @abc.abstractmethod
    def subscriber_count(self, picture: str) -> int: ...
