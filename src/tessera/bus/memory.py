"""The embedded change bus: in-process, with a bounded window of retained changes."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from tessera.bus.base import Change, ChangeBus, Subscriber
from tessera.store.base import TrackQuery


class _Feed:
    __slots__ = ("last_seq", "retained", "subscribers")

    def __init__(self, retained: int) -> None:
        self.retained: deque[Change] = deque(maxlen=retained)
        self.subscribers: set[Subscriber] = set()
        self.last_seq = 0


class MemoryBus(ChangeBus):
    def __init__(self, pictures: Iterable[str], *, retained: int) -> None:
        self._feeds = {name: _Feed(retained) for name in pictures}

    def publish(self, picture: str, changes: list[Change]) -> None:
        feed = self._feeds[picture]
        changes = _newer(changes, feed.last_seq)
        if not changes:
            return
        feed.retained.extend(changes)
        feed.last_seq = changes[-1].seq
        # Subscribers mostly share a few filters: judge each change once per filter.
        verdicts: dict[TrackQuery, list[bool]] = {}
        for subscriber in feed.subscribers:
            query = subscriber.query
            matched = verdicts.get(query)
            if matched is None:
                matched = [change.matches(query) for change in changes]
                verdicts[query] = matched
            subscriber.offer_many(changes, matched)

    def retain(self, picture: str, changes: list[Change]) -> None:
        """Keep ``changes`` for subscribers resuming with ``since``, delivering them to
        nobody: what a gateway's copy of the picture already holds."""
        feed = self._feeds[picture]
        changes = _newer(changes, feed.last_seq)
        if changes:
            feed.retained.extend(changes)
            feed.last_seq = changes[-1].seq

    def attach(self, picture: str, subscriber: Subscriber, since: int | None) -> bool:
        feed = self._feeds[picture]
        resumed = False
        if since is not None:
            subscriber.start_after(since)
        if since is not None and since <= feed.last_seq:
            oldest = feed.retained[0].seq if feed.retained else feed.last_seq + 1
            # Every change after `since` must still be retained to resume without a gap.
            if since + 1 >= oldest:
                resumed = True
                for change in feed.retained:
                    if change.seq > since:
                        subscriber.offer(change)
        feed.subscribers.add(subscriber)
        return resumed

    def detach(self, picture: str, subscriber: Subscriber) -> None:
        self._feeds[picture].subscribers.discard(subscriber)

    def continue_at(self, picture: str, seq: int) -> None:
        feed = self._feeds[picture]
        feed.last_seq = max(feed.last_seq, seq)

    def subscribers(self, picture: str) -> tuple[Subscriber, ...]:
        return tuple(self._feeds[picture].subscribers)

    def last_seq(self, picture: str) -> int:
        return self._feeds[picture].last_seq

    def subscriber_count(self, picture: str) -> int:
        return len(self._feeds[picture].subscribers)


def _newer(changes: list[Change], last_seq: int) -> list[Change]:
    """The changes after ``last_seq``: a feed never goes back (one delivered again, or
    republished by a fusion worker replaying the journal, is already retained)."""
    if not changes or changes[0].seq > last_seq:
        return changes
    return [change for change in changes if change.seq > last_seq]
