"""The embedded change bus: in-process, with a bounded window of retained changes."""

from __future__ import annotations

from collections.abc import Iterable

from tessera.bus.base import Change, ChangeBus, Subscriber
from tessera.bus.retained import RetainedChanges
from tessera.store.base import TrackQuery


class _Feed:
    __slots__ = ("retained", "subscribers")

    def __init__(self, retained: int) -> None:
        self.retained = RetainedChanges(retained)
        self.subscribers: set[Subscriber] = set()


class MemoryBus(ChangeBus):
    def __init__(self, pictures: Iterable[str], *, retained: int) -> None:
        self._feeds = {name: _Feed(retained) for name in pictures}

    def publish(self, picture: str, changes: list[Change]) -> None:
        if not changes:
            return
        feed = self._feeds[picture]
        feed.retained.extend(changes)
        # Subscribers mostly share a few filters: judge each change once per filter.
        verdicts: dict[TrackQuery, list[bool]] = {}
        for subscriber in feed.subscribers:
            query = subscriber.query
            matched = verdicts.get(query)
            if matched is None:
                matched = [change.matches(query) for change in changes]
                verdicts[query] = matched
            subscriber.offer_many(changes, matched)

    def attach(self, picture: str, subscriber: Subscriber, since: int | None) -> bool:
        feed = self._feeds[picture]
        resumed = False
        # Every change after `since` must still be known to resume without a gap.
        if since is not None and feed.retained.covers(since):
            resumed = True
            for change in feed.retained.after(since):
                subscriber.offer(change)
        feed.subscribers.add(subscriber)
        return resumed

    def detach(self, picture: str, subscriber: Subscriber) -> None:
        self._feeds[picture].subscribers.discard(subscriber)

    def subscribers(self, picture: str) -> tuple[Subscriber, ...]:
        return tuple(self._feeds[picture].subscribers)

    def last_seq(self, picture: str) -> int:
        return self._feeds[picture].retained.last_seq

    def subscriber_count(self, picture: str) -> int:
        return len(self._feeds[picture].subscribers)

    def retained_count(self, picture: str) -> int:
        """How many changes ``picture`` keeps for resuming subscribers."""
        return len(self._feeds[picture].retained)
