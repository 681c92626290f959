"""Changes the PostGIS store has yet to write, coalesced: per picture and item, only the
latest state (or its removal) and the picture's latest seq and journal position.

Writing a coalesced batch in one transaction moves the database from the state after one
prefix of the changes to the state after a longer one, never to a mix: the order of the
changes is kept where it matters, and memory is bounded by the items, not the changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from tessera.core.model import Track
from tessera.core.overlays import Overlay


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


ItemT = TypeVar("ItemT", bound=_Identified)
# picture -> item id -> (the item, or None once removed; the picture's seq at the change)
Changes = dict[str, dict[str, tuple[ItemT | None, int]]]


@dataclass
class Batch:
    """What one transaction writes. ``version`` counts the changes queued up to it."""

    tracks: Changes[Track] = field(default_factory=dict)
    overlays: Changes[Overlay] = field(default_factory=dict)
    seqs: dict[str, int] = field(default_factory=dict)
    journal_seq: int | None = None
    version: int = 0

    def items(self) -> int:
        return sum(map(len, self.tracks.values())) + sum(map(len, self.overlays.values()))

    def is_empty(self) -> bool:
        return not (self.seqs or self.journal_seq is not None or self.items())

    def absorb(self, newer: Batch) -> None:
        """Add a later batch's changes on top of this one's: the later state wins."""
        _absorb(self.tracks, newer.tracks)
        _absorb(self.overlays, newer.overlays)
        self.seqs.update(newer.seqs)
        if newer.journal_seq is not None:
            self.journal_seq = newer.journal_seq
        self.version = max(self.version, newer.version)


def _absorb(mine: Changes[ItemT], theirs: Changes[ItemT]) -> None:
    for picture, changes in theirs.items():
        mine.setdefault(picture, {}).update(changes)


class _Kind(Generic[ItemT]):
    """One kind of item (tracks or overlays): its pending changes, and the ids that may be
    in the database (hydrated, or written by a transaction that may have committed)."""

    def __init__(self, pictures: Iterable[str]) -> None:
        self.stored: dict[str, set[str]] = {name: set() for name in pictures}

    def put(
        self,
        changes: Changes[ItemT],
        picture: str,
        seq: int,
        updated: Sequence[ItemT],
        removed: Sequence[str],
    ) -> None:
        stored = self.stored[picture]
        pending = changes.setdefault(picture, {})
        for item in updated:
            pending[item.id] = (item, seq)
        for item_id in removed:
            if item_id in stored:
                pending[item_id] = (None, seq)
            else:
                # Never written: forgetting it keeps short-lived items out of memory.
                pending.pop(item_id, None)

    def taken(self, changes: Changes[ItemT]) -> None:
        # Counted as stored from now: the transaction may commit even if its answer is lost.
        for picture, pending in changes.items():
            self.stored[picture].update(i for i, (item, _) in pending.items() if item is not None)

    def committed(self, changes: Changes[ItemT]) -> None:
        for picture, pending in changes.items():
            self.stored[picture].difference_update(
                i for i, (item, _) in pending.items() if item is None
            )


class WriteQueue:
    """The changes waiting for the database, and which items it may hold."""

    def __init__(self, pictures: Iterable[str]) -> None:
        names = list(pictures)
        self._tracks: _Kind[Track] = _Kind(names)
        self._overlays: _Kind[Overlay] = _Kind(names)
        self._pending = Batch()
        self.version = 0

    def hydrated(self, picture: str, track_ids: Iterable[str], overlay_ids: Iterable[str]) -> None:
        self._tracks.stored[picture].update(track_ids)
        self._overlays.stored[picture].update(overlay_ids)

    def put_tracks(
        self, picture: str, seq: int, updated: Sequence[Track], removed: Sequence[str]
    ) -> None:
        self._tracks.put(self._pending.tracks, picture, seq, updated, removed)
        self._changed(picture, seq)

    def put_overlays(
        self, picture: str, seq: int, updated: Sequence[Overlay], removed: Sequence[str]
    ) -> None:
        self._overlays.put(self._pending.overlays, picture, seq, updated, removed)
        self._changed(picture, seq)

    def put_journal(self, seq: int) -> None:
        self._pending.journal_seq = seq
        self.version += 1
        self._pending.version = self.version

    def _changed(self, picture: str, seq: int) -> None:
        self._pending.seqs[picture] = seq
        self.version += 1
        self._pending.version = self.version

    def pending(self) -> int:
        """Items waiting (not counting a batch being written)."""
        return self._pending.items()

    def take(self) -> Batch | None:
        """Everything pending, to write in one transaction; None if nothing is."""
        if self._pending.is_empty():
            return None
        batch, self._pending = self._pending, Batch(version=self.version)
        self._tracks.taken(batch.tracks)
        self._overlays.taken(batch.overlays)
        return batch

    def committed(self, batch: Batch) -> None:
        self._tracks.committed(batch.tracks)
        self._overlays.committed(batch.overlays)

    def failed(self, batch: Batch) -> None:
        """Put back a batch that was not written, under the changes queued since."""
        batch.absorb(self._pending)
        self._pending = batch
