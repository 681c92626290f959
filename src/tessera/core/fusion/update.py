"""Predictor and updater, applied to many tracks at once.

Reports assigned in a micro-batch are applied in rounds: round k takes the k-th report of
each track (journal order), so every round is one vectorised Kalman step over distinct
tracks. A report older than its track (up to ``update_lag``) still updates it, as an
out-of-sequence measurement: it is compared with the track carried back to the report's
time, so it corrects the velocity by what it shows of the motion as well as the position.
An older one only adds evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from tessera.core.fusion.gating import GATE_CHI2
from tessera.core.fusion.geo import (
    metres_per_degree_lon_array,
    moved_arrays,
    offsets_metres,
    velocity_components,
)
from tessera.core.fusion.kalman import mahalanobis2, predict_covariance, update, update_late
from tessera.core.fusion.lifecycle import Lifecycle
from tessera.core.fusion.record import TrackRecord, axis_variance
from tessera.core.fusion.settings import FusionSettings, FusionStats
from tessera.core.fusion.table import TrackTable
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
        rows = np.fromiter((record.row for record, _ in members), np.intp, n)
        observed = np.fromiter((r.observed_at.timestamp() for _, r in members), np.float64, n)
        # The motion class as it is before this report's evidence (which may change it).
        self._queued.append(
            _Queued(rows, observed, [r for _, r in members], keyed, arrays.motion[rows])
        )
        absorb = self._lifecycle.absorb_evidence
        enough = np.fromiter((absorb(record, report) for record, report in members), bool, n)
        self._lifecycle.settle(rows, observed, enough)

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
        arrays = table.arrays
        n = rows.size
        state_t = arrays.t[rows]
        tau = np.maximum(state_t, observed)
        dt = tau - state_t
        lag = tau - observed
        q = table.profiles.q[motion]
        vel = arrays.vel[rows].copy()
        lat, lon = moved_arrays(arrays.lat[rows], arrays.lon[rows], vel[:, 0] * dt, vel[:, 1] * dt)
        cov = predict_covariance(arrays.cov[rows], dt, q)
        # The report carried forward to the track's time, its error grown accordingly.
        z_lat = np.fromiter((r.position.lat for r in reports), np.float64, n)
        z_lon = np.fromiter((r.position.lon for r in reports), np.float64, n)
        extra = np.fromiter((axis_variance(r) for r in reports), np.float64, n)
        noise = np.zeros((n, 2, 2))
        # What the fix is compared with: the track's position carried back to the fix's
        # time (its covariance grown by the velocity's over the lag, less their
        # correlation); the innovation is the same as the fix carried forward.
        retrodicted = cov[:, :2, :2]
        late = bool(lag.any())
        if late:
            z_lat, z_lon = moved_arrays(z_lat, z_lon, vel[:, 0] * lag, vel[:, 1] * lag)
            step = lag[:, None, None]
            retrodicted = (
                retrodicted
                - step * (cov[:, :2, 2:] + cov[:, 2:, :2])
                + (step * step) * cov[:, 2:, 2:]
            )
            extra += q * lag**3 / 3
        noise[:, 0, 0] += extra
        noise[:, 1, 1] += extra
        # (The predicted latitudes' scale serves the innovation and the correction.)
        per_degree_lon = metres_per_degree_lon_array(lat)
        innovation = offsets_metres(lat, lon, z_lat, z_lon, per_degree_lon)
        keep = np.ones(n, dtype=bool)
        kept_all = True
        if keyed.any():
            # A keyed report says where that very thing is: far outside the gate, the
            # track was wrong (stale, or the subject jumped), so start again from it.
            far = keyed & (mahalanobis2(innovation, retrodicted + noise) > GATE_CHI2)
            for outlier in np.flatnonzero(far).tolist():
                self._lifecycle.reset_kinematics(
                    int(rows[outlier]), reports[outlier], float(observed[outlier])
                )
            keep = ~far
            kept_all = not far.any()
        with_velocity = np.fromiter((r.velocity is not None for r in reports), bool, n) & (
            lag == 0.0
        )
        for subset, size in ((keep & ~with_velocity, 2), (keep & with_velocity, 4)):
            index = np.flatnonzero(subset)
            if index.size == 0:
                continue
            # (Mostly every row: then a plain view, not a gathered copy, of each array.)
            at: npt.NDArray[np.intp] | slice = slice(None) if index.size == n else index
            measured_noise = noise[at]
            measured = innovation[at]
            if size == 4:
                velocity_var = self._settings.velocity_sd**2
                measured_noise = np.zeros((index.size, 4, 4))
                measured_noise[:, :2, :2] = noise[at]
                measured_noise[:, 2, 2] = measured_noise[:, 3, 3] = velocity_var
                stated = np.array(
                    [
                        velocity_components(r.velocity.course, r.velocity.speed)
                        for r in _at(reports, index)
                        if r.velocity is not None
                    ]
                ).reshape(-1, 2)
                measured = np.concatenate((innovation[at], stated - vel[at]), axis=1)
            if size == 2 and late:
                # An old fix corrects the velocity too, by what it shows of the motion.
                correction, cov[at] = update_late(cov[at], measured, measured_noise, lag[at])
            else:
                correction, cov[at] = update(cov[at], measured, measured_noise)
            lat[at], lon[at] = moved_arrays(
                lat[at], lon[at], correction[:, 0], correction[:, 1], per_degree_lon[at]
            )
            vel[at] += correction[:, 2:]
        # Never faster than the class allows: a few noisy fixes must not fling a track.
        top = table.profiles.max_speed[motion]
        speed = np.hypot(vel[:, 0], vel[:, 1])
        scale = np.where(speed > top, top / np.maximum(speed, 1e-9), 1.0)
        vel *= scale[:, None]
        if kept_all:
            arrays.lat[rows] = lat
            arrays.lon[rows] = lon
            arrays.vel[rows] = vel
            arrays.cov[rows] = cov
            arrays.t[rows] = tau
            return
        kept = rows[keep]
        arrays.lat[kept] = lat[keep]
        arrays.lon[kept] = lon[keep]
        arrays.vel[kept] = vel[keep]
        arrays.cov[kept] = cov[keep]
        arrays.t[kept] = tau[keep]


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


def _velocity(report: Report) -> tuple[float, float]:
    assert report.velocity is not None
    return velocity_components(report.velocity.course, report.velocity.speed)
