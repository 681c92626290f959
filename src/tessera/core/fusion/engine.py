"""The fusion engine: a multi-source tracker fed in micro-batches of the journal.

Reports are grouped into micro-batches by received time (windows of ``batch_seconds``,
closed as soon as the journal's clock has passed them), and the picture is aged by a sweep
at every whole second of that clock. Both happen at times that depend on the journal
alone, so the same journal gives the same picture however it is fed. In each micro-batch
(DESIGN §4): keyed reports update their subject's track; the rest are gated against the
predicted tracks and associated per connected component; updates run vectorised in
rounds (one report per track per round, in journal order); what is left initiates
tentative tracks; reports that arrive late are placed by the track's history.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec

from tessera.core.fusion.arrays import TrackArrays
from tessera.core.fusion.base import StepResult, Tracker
from tessera.core.fusion.batch import MicroBatch
from tessera.core.fusion.lifecycle import Lifecycle
from tessera.core.fusion.motion import ProfileTable
from tessera.core.fusion.record import TrackRecord
from tessera.core.fusion.snapshot import track_snapshot
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Report, Track


class FusionSettings(msgspec.Struct, frozen=True, kw_only=True):
    """``batch_seconds``: micro-batch window of received time. ``short_lag``: a report up
    to this much older than its track still updates it; an older one only confirms."""

    batch_seconds: float = 1.0
    lineage_window: int = 200
    drop_dead_after: float = 300.0
    short_lag: float = 30.0
    search_margin_m: float = 1_000.0
    velocity_sd: float = 1.0


class FusionStats(msgspec.Struct, kw_only=True):
    reports: int = 0
    keyed: int = 0
    associated: int = 0
    initiated: int = 0
    late_updates: int = 0
    late_confirmations: int = 0
    too_old: int = 0
    retracted: int = 0


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


class KalmanTracker(Tracker):
    """Keyed association, Kalman prediction, chi-square gating, clustered assignment."""

    def __init__(
        self, scheme: ClassificationScheme, settings: FusionSettings | None = None
    ) -> None:
        self.settings = settings or FusionSettings()
        if not self.settings.batch_seconds > 0:
            raise ValueError("batch_seconds must be greater than zero")
        self.scheme = scheme
        self.stats = FusionStats()
        self._window_us = max(round(self.settings.batch_seconds * 1e6), 1)
        self._arrays = TrackArrays()
        self._profiles = ProfileTable()
        self._records: dict[str, TrackRecord] = {}
        self._by_row: dict[int, TrackRecord] = {}
        self._by_subject: dict[str, TrackRecord] = {}
        self._lifecycle = Lifecycle(self)
        self._batch = MicroBatch(self, self._lifecycle)
        self._clock = -math.inf
        self._swept: int | None = None
        self._windows: deque[tuple[int, list[Report]]] = deque()
        self._dirty: dict[str, None] = {}
        self._removed: set[str] = set()

    # -- Tracker interface -------------------------------------------------------------

    def step(self, now: datetime, reports: Sequence[Report]) -> StepResult:
        """Take ``reports`` (journal order), then close everything up to ``now``: the
        caller promises that no report received at or before ``now`` is still to come."""
        self.feed(reports)
        self.flush(_epoch(now))
        return self.take_changes()

    def tracks(self) -> Iterable[Track]:
        return [self.snapshot(record) for record in self._records.values()]

    def track(self, track_id: str) -> Track | None:
        record = self._records.get(track_id)
        return None if record is None else self.snapshot(record)

    # -- feeding -----------------------------------------------------------------------

    def feed(self, reports: Sequence[Report]) -> None:
        for report in reports:
            received = report.received_at or report.observed_at
            received_us = round(_epoch(received) * 1e6)
            self._advance(received_us / 1e6, close_at_target=False)
            end_us = -(-received_us // self._window_us) * self._window_us
            if self._windows and self._windows[-1][0] >= end_us:
                self._windows[-1][1].append(report)
            else:
                self._windows.append((end_us, [report]))

    def flush(self, now: float) -> None:
        """Close every micro-batch received at or before ``now`` and age to ``now``."""
        self._advance(now, close_at_target=True)

    def take_changes(self) -> StepResult:
        updated = [self.snapshot(self._records[tid]) for tid in self._dirty if tid in self._records]
        removed = sorted(tid for tid in self._removed if tid not in self._records)
        self._dirty.clear()
        self._removed.clear()
        return StepResult(updated=updated, removed=removed)

    def pending_reports(self) -> int:
        return sum(len(reports) for _, reports in self._windows)

    def forget_changes(self) -> None:
        """For callers that read whole pictures instead of changes (batch mode)."""
        self._dirty.clear()
        self._removed.clear()

    def live_count(self) -> int:
        return int(self._arrays.live_rows().size)

    # -- the journal's clock -----------------------------------------------------------

    def _advance(self, target: float, *, close_at_target: bool) -> None:
        """Run, in time order, the sweeps (each whole second up to ``target``) and window
        closes (ends before ``target``, or at it when closing) that are due. At equal
        times the sweep goes first, whatever the feeding, so the order never varies."""
        if self._swept is None:
            self._swept = math.floor(target) - 1
        while True:
            next_second = self._swept + 1
            sweep_due = next_second <= target
            window_due = False
            if self._windows:
                end = self._windows[0][0] / 1e6
                window_due = end < target or (close_at_target and end <= target)
                if sweep_due and window_due and next_second > end:
                    sweep_due = False
            if sweep_due:
                self._clock = max(self._clock, float(next_second))
                self._lifecycle.sweep(float(next_second))
                self._swept = next_second
            elif window_due:
                end_us, reports = self._windows.popleft()
                self._clock = max(self._clock, end_us / 1e6)
                self._batch.apply(end_us / 1e6, reports)
            else:
                break
        self._clock = max(self._clock, target)

    # -- shared with the batch and lifecycle steps -------------------------------------

    @property
    def arrays(self) -> TrackArrays:
        return self._arrays

    @property
    def profiles(self) -> ProfileTable:
        return self._profiles

    @property
    def clock(self) -> float:
        return self._clock

    def record_at(self, row: int) -> TrackRecord:
        return self._by_row[row]

    def record_for_subject(self, subject: str) -> TrackRecord | None:
        return self._by_subject.get(subject)

    def records(self) -> Iterable[TrackRecord]:
        return self._records.values()

    def add(self, record: TrackRecord) -> None:
        self._records[record.id] = record
        self._by_row[record.row] = record
        if record.subject is not None:
            self._by_subject[record.subject] = record
        self._removed.discard(record.id)
        self._dirty[record.id] = None

    def touch(self, record: TrackRecord) -> None:
        self._dirty[record.id] = None

    def drop(self, record: TrackRecord) -> None:
        del self._records[record.id]
        del self._by_row[record.row]
        if record.subject is not None and self._by_subject.get(record.subject) is record:
            del self._by_subject[record.subject]
        self._arrays.release(record.row)
        self._dirty.pop(record.id, None)
        self._removed.add(record.id)

    def snapshot(self, record: TrackRecord) -> Track:
        return track_snapshot(record, self._arrays)
