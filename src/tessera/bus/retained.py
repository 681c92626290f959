"""A picture's retained window of changes, for subscribers resuming with ``since``.

A resumed subscriber coalesces what it is offered to the latest change per item, so the
window need only hold the latest change of each track and overlay changed since its start:
its memory follows the items changed, not the changes (a track updated every second for
an hour is one entry, not 3,600), and that entry's track is the one the store holds.
``limit`` bounds the items kept; the least recently changed is forgotten first, and the
window then starts after it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence

from tessera.bus.base import Change


class RetainedChanges:
    __slots__ = ("_floor", "_latest", "_limit", "last_seq")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a retained window holds at least one change")
        self._limit = limit
        # The latest change of each item, least recently changed first.
        self._latest: dict[Hashable, Change] = {}
        # Every change after this seq is held (or superseded by a held one); None until
        # the first change, so a window may start at any seq (a gateway joining late).
        self._floor: int | None = None
        self.last_seq = 0

    def __len__(self) -> int:
        return len(self._latest)

    def extend(self, changes: Sequence[Change]) -> None:
        if not changes:
            return
        if self._floor is None:
            self._floor = changes[0].seq - 1
        latest = self._latest
        for change in changes:
            key = change.key
            # Re-inserted, so the dict's order stays the order of each item's last change.
            latest.pop(key, None)
            latest[key] = change
        while len(latest) > self._limit:
            forgotten = latest.pop(next(iter(latest)))
            self._floor = max(self._floor, forgotten.seq)
        self.last_seq = changes[-1].seq

    def covers(self, since: int) -> bool:
        """Whether everything after ``since`` is still known (a seq from beyond the last
        change is not: another deployment's, or a picture rebuilt since)."""
        floor = self.last_seq if self._floor is None else self._floor
        return floor <= since <= self.last_seq

    def after(self, since: int) -> Iterator[Change]:
        """The latest change of each item changed after ``since``, in seq order."""
        return iter(sorted((c for c in self._latest.values() if c.seq > since), key=_seq))


def _seq(change: Change) -> int:
    return change.seq
