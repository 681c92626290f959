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
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from tessera.core.fusion.lifecycle import Lifecycle
from tessera.core.fusion.record import TrackRecord
from tessera.core.fusion.settings import FusionSettings, FusionStats
from tessera.core.fusion.table import TrackTable
from tessera.core.fusion.update_one import step_rows
from tessera.core.model import Report

FloatArray = npt.NDArray[np.float64]
Pair = tuple[TrackRecord, Report]


class UpdateRound:
    """Applies assigned reports: evidence at once, kinematics deferred.

    A report's evidence (identity, lineage, confirmation) is taken as it is applied; its
    Kalman step waits in a queue until something reads the tracks' kinematics
    (``TrackTable.kinematics``), and then every queued step runs in as few vectorised rounds
    as there are steps for one track. A track's steps run in the order they were queued,
    each as it would have run at once, so the picture does not depend on when they run.
    """

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
        self._queued: list[_Queued] = []
        table.pending = self.run_pending

    def run(self, pairs: Sequence[Pair], *, keyed: bool = False) -> None:
        rounds: list[list[Pair]] = []
        taken: dict[int, int] = {}
        for pair in pairs:
            k = taken.get(pair[0].row, 0)
            taken[pair[0].row] = k + 1
            if k == len(rounds):
                rounds.append([])
            rounds[k].append(pair)
        for members in rounds:
            self._apply(members, keyed=keyed)

    def _apply(self, members: list[Pair], *, keyed: bool) -> None:
        arrays = self._table.arrays
        n = len(members)
        if n == 1:
            ((record, report),) = members
            row, at = record.row, report.observed_at.timestamp()
            self._queued.append(
                _Queued(
                    np.array([row], dtype=np.intp),
                    np.array([at]),
                    [report],
                    keyed,
                    arrays.motion[row : row + 1].copy(),
                )
            )
            self._lifecycle.settle_one(row, at, self._lifecycle.absorb_evidence(record, report))
            return
        rows = np.fromiter((record.row for record, _ in members), np.intp, n)
        observed = np.fromiter((r.observed_at.timestamp() for _, r in members), np.float64, n)
        # The motion class as it is before this report's evidence (which may change it).
        self._queued.append(
            _Queued(rows, observed, [r for _, r in members], keyed, arrays.motion[rows])
        )
        absorb = self._lifecycle.absorb_evidence
        taken = np.fromiter((absorb(record, report) for record, report in members), bool, n)
        self._lifecycle.settle(rows, observed, taken)

    def run_pending(self) -> None:
        """Run every queued kinematic step: the k-th queued step of each track in round k."""
        queued = self._queued
        if not queued:
            return
        self._queued = []
        if len(queued) == 1:
            only = queued[0]
            keyed = np.full(only.rows.size, only.keyed)
            self._step(only.rows, only.observed, only.reports, keyed, only.motion)
            return
        rows = np.concatenate([item.rows for item in queued])
        observed = np.concatenate([item.observed for item in queued])
        reports = [report for item in queued for report in item.reports]
        keyed = np.concatenate([np.full(item.rows.size, item.keyed) for item in queued])
        motion = np.concatenate([item.motion for item in queued])
        if len(set(rows.tolist())) == rows.size:
            # Mostly so: one step for each of a few tracks, all in one round.
            self._step(rows, observed, reports, keyed, motion)
            return
        rank = _occurrence(rows)
        for k in range(int(rank.max()) + 1):
            at = np.flatnonzero(rank == k)
            self._step(rows[at], observed[at], _at(reports, at), keyed[at], motion[at])

    def _step(
        self,
        rows: npt.NDArray[np.intp],
        observed: FloatArray,
        reports: list[Report],
        keyed: npt.NDArray[np.bool_],
        motion: npt.NDArray[np.int8],
    ) -> None:
        """One Kalman step for each of distinct ``rows``."""
        if rows.size == 1:
            # (Most steps: the same tests on floats.)
            behind = self._table.arrays.t.item(rows.item()) - observed.item()
            if behind <= self._settings.update_lag:
                self._stats.late_updates += int(behind > 0.0)
                self._kinematics(rows, observed, reports, keyed, motion)
            else:
                self._stats.late_confirmations += 1
            return
        lag_behind = self._table.arrays.t[rows] - observed
        moving = np.flatnonzero(lag_behind <= self._settings.update_lag)
        self._stats.late_updates += int(np.count_nonzero(lag_behind[moving] > 0.0))
        self._stats.late_confirmations += rows.size - moving.size
        if moving.size:
            self._kinematics(
                rows[moving], observed[moving], _at(reports, moving), keyed[moving], motion[moving]
            )

    def _kinematics(
        self,
        rows: npt.NDArray[np.intp],
        observed: FloatArray,
        reports: list[Report],
        keyed: npt.NDArray[np.bool_],
        motion: npt.NDArray[np.int8],
    ) -> None:
        table = self._table
        refused = step_rows(
            table.arrays,
            table.profiles,
            self._settings.velocity_sd,
            rows,
            observed,
            reports,
            keyed,
            motion,
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


class _Queued(NamedTuple):
    """Kinematic steps waiting to run, one per (distinct) row."""

    rows: npt.NDArray[np.intp]
    observed: FloatArray
    reports: list[Report]
    keyed: bool
    motion: npt.NDArray[np.int8]


def _occurrence(rows: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """For each entry, how many entries before it hold the same row."""
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    lengths = np.diff(np.r_[starts, ordered.size])
    rank = np.empty_like(order)
    rank[order] = np.arange(ordered.size) - np.repeat(starts, lengths)
    return rank
