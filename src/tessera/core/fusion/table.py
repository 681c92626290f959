"""The tracks the engine holds, as its steps share them: each record by id, row and
subject, the kinematic arrays, the motion profiles, the journal's clock, and the changes
not yet taken. The engine owns one; the micro-batch, lifecycle and update steps are given
it, so none of them needs the engine itself."""

from __future__ import annotations

import math
from collections.abc import Iterable

from tessera.core.fusion.arrays import TrackArrays
from tessera.core.fusion.motion import ProfileTable
from tessera.core.fusion.record import TrackRecord
from tessera.core.fusion.snapshot import track_snapshot
from tessera.core.model import Track
from tessera.core.order_of_battle import OrderOfBattle, placed


class TrackTable:
    def __init__(self, order: OrderOfBattle | None = None) -> None:
        # What the settings say of units' formations and echelons, filled in on snapshots.
        self.order: OrderOfBattle = order or {}
        self.arrays = TrackArrays()
        self.profiles = ProfileTable()
        self.records: dict[str, TrackRecord] = {}
        self.by_row: dict[int, TrackRecord] = {}
        self.by_subject: dict[str, TrackRecord] = {}
        # The journal's clock: minus infinity before the first report.
        self.clock = -math.inf
        # Tracks changed (in order) and dropped since the changes were last taken; of the
        # changed, those whose only change is to be shown grown by the sweep (where they
        # are shown and with what error: ``snapshot.shown_position``).
        self.dirty: dict[str, None] = {}
        self.removed: set[str] = set()
        self.shown_only: set[str] = set()

    def kinematics(self) -> TrackArrays:
        """The arrays, as whatever reads a track's position, velocity, covariance or
        state time takes them."""
        return self.arrays

    def record_at(self, row: int) -> TrackRecord:
        return self.by_row[row]

    def record_for_subject(self, subject: str) -> TrackRecord | None:
        return self.by_subject.get(subject)

    def all_records(self) -> Iterable[TrackRecord]:
        return self.records.values()

    def add(self, record: TrackRecord) -> None:
        self.records[record.id] = record
        self.by_row[record.row] = record
        if record.subject is not None:
            self.by_subject[record.subject] = record
        self.removed.discard(record.id)
        self.touch(record)

    def touch(self, record: TrackRecord) -> None:
        self.dirty[record.id] = None
        self.shown_only.discard(record.id)

    def touch_shown(self, record: TrackRecord) -> None:
        """The track is shown grown, and nothing else of it changed (unless touched)."""
        if record.id not in self.dirty:
            self.dirty[record.id] = None
            self.shown_only.add(record.id)

    def sync_belief(self, record: TrackRecord) -> None:
        """Mirror the record's identity belief into the arrays association reads (after
        anything that moves it: a sighting, a declaration, its end, a restore)."""
        belief = record.belief
        self.arrays.belief[record.row] = belief.weighed()
        self.arrays.declared[record.row] = belief.authoritative is not None

    def forget_changes(self) -> None:
        self.dirty.clear()
        self.removed.clear()
        self.shown_only.clear()

    def drop(self, record: TrackRecord) -> None:
        del self.records[record.id]
        del self.by_row[record.row]
        if record.subject is not None and self.by_subject.get(record.subject) is record:
            del self.by_subject[record.subject]
        self.arrays.release(record.row)
        self.dirty.pop(record.id, None)
        self.shown_only.discard(record.id)
        self.removed.add(record.id)

    def snapshot(self, record: TrackRecord) -> Track:
        return placed(track_snapshot(record, self.kinematics(), self.profiles), self.order)
