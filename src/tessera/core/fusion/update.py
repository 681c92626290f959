"""Predictor and updater, applied to many tracks at once.

Reports assigned in a micro-batch are applied in rounds: round k takes the k-th report of
each track (journal order), so every round steps distinct tracks (update_one: one track
at a time, compiled where the project was built). A report older than its track (up to
``update_lag``) still updates it, as an out-of-sequence measurement: it is compared with
the track carried back to the report's time, so it corrects the velocity by what it shows
of the motion as well as the position. An older one only adds evidence.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from tessera.core.fusion.lifecycle import Lifecycle
from tessera.core.fusion.record import TrackRecord
from tessera.core.fusion.settings import FusionSettings, FusionStats
from tessera.core.fusion.table import TrackTable
from tessera.core.fusion.update_one import step_one, step_rows
from tessera.core.model import Report

FloatArray = npt.NDArray[np.float64]
Pair = tuple[TrackRecord, Report]


class UpdateRound:
    """Applies assigned reports: each round's Kalman steps, then its evidence (identity,
    lineage, confirmation). A step reads and writes only its own track's kinematics, and
    the evidence none of them, so the order within a round changes nothing."""

    def __init__(
        self,
        table: TrackTable,
        lifecycle: Lifecycle,
        settings: FusionSettings,
        stats: FusionStats,
    ) -> None:
        self._table = table
        self._lifecycle = lifecycle
        self._settings = settings
        self._stats = stats

    def run(self, pairs: Sequence[Pair], *, keyed: bool = False) -> None:
        if len(pairs) == 1:
            ((record, report),) = pairs
            self._apply_one(record, report, keyed=keyed)
            return
        rounds: list[list[Pair]] = []
        taken: dict[int, int] = {}
        for pair in pairs:
            k = taken.get(pair[0].row, 0)
            taken[pair[0].row] = k + 1
            if k == len(rounds):
                rounds.append([])
            rounds[k].append(pair)
        for members in rounds:
            if len(members) == 1:
                self._apply_one(*members[0], keyed=keyed)
            else:
                self._apply(members, keyed=keyed)

    def _apply_one(self, record: TrackRecord, report: Report, *, keyed: bool) -> None:
        """``_apply`` of one report, on floats (most micro-batches hold one)."""
        table = self._table
        arrays = table.arrays
        row, at = record.row, report.observed_at.timestamp()
        behind = arrays.t.item(row) - at
        if behind <= self._settings.update_lag:
            self._stats.late_updates += behind > 0.0
            motion = arrays.motion.item(row)
            if not step_one(
                arrays,
                table.profiles,
                self._settings.velocity_sd,
                row,
                at,
                report,
                keyed=keyed,
                motion=motion,
            ):
                self._lifecycle.reset_kinematics(row, report, at)
        else:
            self._stats.late_confirmations += 1
        self._lifecycle.settle_one(row, at, self._lifecycle.absorb_evidence(record, report))

    def _apply(self, members: list[Pair], *, keyed: bool) -> None:
        """One round: distinct tracks, each stepped by its report, then given its evidence."""
        n = len(members)
        rows = np.fromiter((record.row for record, _ in members), np.intp, n)
        observed = np.fromiter((r.observed_at.timestamp() for _, r in members), np.float64, n)
        reports = [report for _, report in members]
        self._step(rows, observed, reports, keyed=keyed)
        absorb = self._lifecycle.absorb_evidence
        taken = np.fromiter((absorb(record, report) for record, report in members), bool, n)
        self._lifecycle.settle(rows, observed, taken)

    def _step(
        self,
        rows: npt.NDArray[np.intp],
        observed: FloatArray,
        reports: list[Report],
        *,
        keyed: bool,
    ) -> None:
        """One Kalman step for each of distinct ``rows``: an update where the report is at
        most ``update_lag`` older than its track, else evidence only."""
        table = self._table
        arrays = table.arrays
        lag_behind = arrays.t[rows] - observed
        moving = np.flatnonzero(lag_behind <= self._settings.update_lag)
        self._stats.late_updates += int(np.count_nonzero(lag_behind[moving] > 0.0))
        self._stats.late_confirmations += rows.size - moving.size
        if not moving.size:
            return
        rows, observed, reports = rows[moving], observed[moving], _at(reports, moving)
        refused = step_rows(
            arrays,
            table.profiles,
            self._settings.velocity_sd,
            rows,
            observed,
            reports,
            np.full(rows.size, keyed),
            arrays.motion[rows],
        )
        # A keyed report says where that very thing is: far outside the gate of the track
        # carried back to the report's time, the track was wrong (stale, or the subject
        # jumped), so start again from it.
        for index in refused:
            self._lifecycle.reset_kinematics(
                int(rows[index]), reports[index], float(observed[index])
            )


def _at(reports: list[Report], index: npt.NDArray[np.intp]) -> list[Report]:
    return [reports[i] for i in index.tolist()]
