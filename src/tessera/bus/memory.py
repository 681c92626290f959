"""The embedded change bus: in-process, with a bounded window of retained changes."""

from __future__ import annotations

from collections.abc import Iterable

from tessera.bus.base import Change, ChangeBus, Subscriber
from tessera.bus.retained import RetainedChanges
from tessera.store.base import TrackQuery
from tessera.store.overlay_shapes import ShapeMemo


class _Feed:
    __slots__ = ("retained", "subscribers")

    def __init__(self, retained: int) -> None:
        self.retained = RetainedChanges(retained)
        self.subscribers: set[Subscriber] = set()


class MemoryBus(ChangeBus):
    def __init__(self, pictures: Iterable[str], *, retained: int) -> None:
        self._feeds = {name: _Feed(retained) for name in pictures}

    def publish(self, picture: str, changes: list[Change]) -> None:
        feed = self._feeds[picture]
        changes = _newer(changes, feed.retained.last_seq)
        if not changes:
            return
        feed.retained.extend(changes)
        # Subscribers mostly share a few filters: judge each change once per filter.
        verdicts: dict[TrackQuery, list[bool]] = {}
        shapes = ShapeMemo()
        for subscriber in feed.subscribers:
            query = subscriber.query
            matched = verdicts.get(query)
            if matched is None:
                matched = [change.matches(query, shapes) for change in changes]
                verdicts[query] = matched
            subscriber.offer_many(changes, matched)

    def retain(self, picture: str, changes: list[Change]) -> None:
        """Keep ``changes`` for subscribers resuming with ``since``, delivering them to
        nobody: what a gateway's copy of the picture already holds."""
        feed = self._feeds[picture]
        changes = _newer(changes, feed.retained.last_seq)
        if changes:
            feed.retained.extend(changes)

    def attach(self, picture: str, subscriber: Subscriber, since: int | None) -> bool:
        feed = self._feeds[picture]
        resumed = False
        if since is not None:
            subscriber.start_after(since)
        # Every change after `since` must still be known to resume without a gap.
        if since is not None and feed.retained.covers(since):
            resumed = True
            for change in feed.retained.after(since):
                subscriber.offer(change)
        feed.subscribers.add(subscriber)
        return resumed

    def detach(self, picture: str, subscriber: Subscriber) -> None:
        self._feeds[picture].subscribers.discard(subscriber)

    def continue_at(self, picture: str, seq: int) -> None:
        retained = self._feeds[picture].retained
        retained.last_seq = max(retained.last_seq, seq)

    def subscribers(self, picture: str) -> tuple[Subscriber, ...]:
        return tuple(self._feeds[picture].subscribers)

    def last_seq(self, picture: str) -> int:
        return self._feeds[picture].retained.last_seq

    def subscriber_count(self, picture: str) -> int:
        return len(self._feeds[picture].subscribers)

    def retained_count(self, picture: str) -> int:
        """How many changes ``picture`` keeps for resuming subscribers."""
        return len(self._feeds[picture].retained)


def _newer(changes: list[Change], last_seq: int) -> list[Change]:
    """The changes after ``last_seq``: a feed never goes back (one delivered again, or
    republished by a fusion worker replaying the journal, is already retained)."""
    if not changes or changes[0].seq > last_seq:
        return changes
    return [change for change in changes if change.seq > last_seq]
