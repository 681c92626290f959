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

from tessera.core.fusion.base import StepResult, Tracker
from tessera.core.fusion.batch import MicroBatch
from tessera.core.fusion.lifecycle import Lifecycle
from tessera.core.fusion.settings import FusionSettings, FusionStats
from tessera.core.fusion.table import TrackTable
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Report, Track

__all__ = ["FusionSettings", "FusionStats", "KalmanTracker"]


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
        self.table = TrackTable(self.settings.order_of_battle)
        self._swept: int | None = None
        self._windows: deque[tuple[int, list[Report]]] = deque()
        self.rewire()

    def rewire(self) -> None:
        """(Re)build the steps around ``table`` (a restored checkpoint replaces it)."""
        self._lifecycle = Lifecycle(self.table, self.settings, self.scheme, self.stats)
        self._batch = MicroBatch(self.table, self._lifecycle, self.settings, self.stats)

    # -- Tracker interface -------------------------------------------------------------

    def step(self, now: datetime, reports: Sequence[Report]) -> StepResult:
        """Take ``reports`` (journal order), then close everything up to ``now``: the
        caller promises that no report received at or before ``now`` is still to come."""
        self.feed(reports)
        self.flush(_epoch(now))
        return self.take_changes()

    def tracks(self) -> Iterable[Track]:
        table = self.table
        return [table.snapshot(record) for record in table.records.values()]

    def track(self, track_id: str) -> Track | None:
        record = self.table.records.get(track_id)
        return None if record is None else self.table.snapshot(record)

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
        table = self.table
        records = table.records
        updated = [table.snapshot(records[tid]) for tid in table.dirty if tid in records]
        removed = sorted(tid for tid in table.removed if tid not in records)
        table.forget_changes()
        return StepResult(updated=updated, removed=removed)

    def pending_reports(self) -> int:
        return sum(len(reports) for _, reports in self._windows)

    def forget_changes(self) -> None:
        """For callers that read whole pictures instead of changes (batch mode)."""
        self.table.forget_changes()

    def live_count(self) -> int:
        return int(self.table.arrays.live_rows().size)

    # -- the journal's clock -----------------------------------------------------------

    def _advance(self, target: float, *, close_at_target: bool) -> None:
        """Run, in time order, the sweeps (each whole second up to ``target``) and window
        closes (ends before ``target``, or at it when closing) that are due. At equal
        times the sweep goes first, whatever the feeding, so the order never varies."""
        table = self.table
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
                table.clock = max(table.clock, float(next_second))
                self._lifecycle.sweep(float(next_second))
                self._swept = next_second
            elif window_due:
                end_us, reports = self._windows.popleft()
                table.clock = max(table.clock, end_us / 1e6)
                self._batch.apply(end_us / 1e6, reports)
            else:
                break
        table.clock = max(table.clock, target)
