"""The change feed: every change to a picture, sequenced, fanned out to subscribers.

Each subscriber has its own coalescing buffer holding at most the latest change per track,
so publishing never waits on a subscriber, a slow one only receives fewer, fresher
updates, and its memory is bounded by the tracks in its view.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Iterable, Sequence

import msgspec

from tessera.core.model import Track
from tessera.store.base import TrackQuery


class Change(msgspec.Struct, frozen=True):
    """One track's change on one picture: ``track`` is ``None`` when it was removed.
    ``feature`` is its GeoJSON, encoded once and shared by every subscriber."""

    seq: int
    track_id: str
    track: Track | None
    feature: msgspec.Raw | None


class Subscriber:
    """A subscriber's filter and coalescing buffer."""

    def __init__(self, query: TrackQuery, *, visible: Iterable[str] | None) -> None:
        self.query = query
        self._pending: dict[str, Change] = {}
        self._ready = asyncio.Event()
        # Tracks the client holds; None: unknown (a resumed client), so a change that
        # leaves the filter is always sent as a removal.
        self._visible: set[str] | None = None if visible is None else set(visible)
        self.closed = False

    def offer(self, change: Change) -> None:
        matched = change.track is not None and self.query.matches(change.track)
        self.offer_many((change,), (matched,))

    def offer_many(self, changes: Sequence[Change], matched: Sequence[bool]) -> None:
        """Queue ``changes``; ``matched[i]`` says whether change i passes this
        subscriber's filter (worked out once for every subscriber with the same one)."""
        pending = self._pending
        visible = self._visible
        queued = False
        for change, match in zip(changes, matched, strict=True):
            track_id = change.track_id
            if match:
                if visible is not None:
                    visible.add(track_id)
                pending[track_id] = change
                queued = True
            elif visible is None or track_id in visible:
                if visible is not None:
                    visible.discard(track_id)
                pending[track_id] = Change(change.seq, track_id, None, None)
                queued = True
        if queued:
            self._ready.set()

    def reset_visible(self, track_ids: Iterable[str]) -> None:
        """The client now holds exactly these tracks (it was just sent a snapshot)."""
        self._visible = set(track_ids)

    def pending_count(self) -> int:
        return len(self._pending)

    async def take(self) -> list[Change]:
        """Wait for changes, then take them all (the latest per track, in seq order)."""
        await self._ready.wait()
        self._ready.clear()
        changes = sorted(self._pending.values(), key=lambda change: change.seq)
        self._pending = {}
        return changes

    def wake(self) -> None:
        self._ready.set()


class ChangeBus(abc.ABC):
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

    @abc.abstractmethod
    def subscriber_count(self, picture: str) -> int: ...
