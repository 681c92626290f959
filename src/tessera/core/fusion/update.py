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

from tessera.core.fusion import imm
from tessera.core.fusion.gating import GATE_CHI2
from tessera.core.fusion.geo import (
    metres_per_degree_lon_array,
    moved_arrays,
    offsets_metres,
    velocity_components,
)
from tessera.core.fusion.kalman import (
    mahalanobis2,
    position_covariance,
    predict_covariance,
    retrodicted_position_covariance,
)
from tessera.core.fusion.lifecycle import Lifecycle
from tessera.core.fusion.record import TrackRecord, axis_variance
from tessera.core.fusion.settings import FusionSettings, FusionStats
from tessera.core.fusion.table import TrackTable
from tessera.core.fusion.update_one import step_one
from tessera.core.model import Report

FloatArray = npt.NDArray[np.float64]
Pair = tuple[TrackRecord, Report]

# Rounds of at most this many tracks are stepped one track at a time in plain floats
# (update_one), which then costs less than NumPy's per-call overhead on a few rows.
FLOAT_ROWS = 3


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
        if n <= FLOAT_ROWS:
            # Distinct rows step independently: one at a time in floats is quicker here.
            for row, at, report, by_key, kind in zip(
                rows.tolist(),
                observed.tolist(),
                reports,
                keyed.tolist(),
                motion.tolist(),
                strict=True,
            ):
                stepped = step_one(
                    arrays,
                    table.profiles,
                    self._settings.velocity_sd,
                    row,
                    at,
                    report,
                    keyed=by_key,
                    motion=kind,
                )
                if not stepped:
                    self._lifecycle.reset_kinematics(row, report, at)
            return
        state_t = arrays.t[rows]
        tau = np.maximum(state_t, observed)
        dt = tau - state_t
        lag = tau - observed
        class_q = table.profiles.q[motion]
        vel = arrays.vel[rows].copy()
        lat, lon = moved_arrays(arrays.lat[rows], arrays.lon[rows], vel[:, 0] * dt, vel[:, 1] * dt)
        # (Every row kept is given the models' mixture below.)
        cov = arrays.cov[rows].copy()
        # (The predicted latitudes' scale serves the fix's offset and the correction.)
        per_degree_lon = metres_per_degree_lon_array(lat)
        fix_lat = np.fromiter((r.position.lat for r in reports), np.float64, n)
        fix_lon = np.fromiter((r.position.lon for r in reports), np.float64, n)
        fix = offsets_metres(lat, lon, fix_lat, fix_lon, per_degree_lon)
        fix_variance = np.fromiter((axis_variance(r) for r in reports), np.float64, n)
        keep = np.ones(n, dtype=bool)
        kept_all = True
        if keyed.any():
            # A keyed report says where that very thing is: far outside the gate of the
            # track carried back to the report's time, the track was wrong (stale, or the
            # subject jumped), so start again from it.
            q = imm.mixed_q(class_q, arrays.model_probs[rows, imm.STEADY])
            if lag.any():
                retrodicted = retrodicted_position_covariance(predict_covariance(cov, dt, q), lag)
            else:
                retrodicted = position_covariance(cov, dt, q)
            spread = retrodicted + (fix_variance + q * lag**3 / 3)[:, None, None] * np.eye(2)
            far = keyed & (mahalanobis2(fix + vel * lag[:, None], spread) > GATE_CHI2)
            for outlier in np.flatnonzero(far).tolist():
                self._lifecycle.reset_kinematics(
                    int(rows[outlier]), reports[outlier], float(observed[outlier])
                )
            keep = ~far
            kept_all = not far.any()
        with_velocity = np.fromiter((r.velocity is not None for r in reports), bool, n) & (
            lag == 0.0
        )
        # Each motion model is updated on its own and the track becomes their mixture
        # (imm.py); the models are kept as offsets from the track's predicted position.
        model_means = arrays.model_means[rows]
        model_means[:, :, :2] -= (vel * dt[:, None])[:, None, :]
        model_covs = arrays.model_covs[rows]
        model_probs = arrays.model_probs[rows]
        for subset, size in ((keep & ~with_velocity, 2), (keep & with_velocity, 4)):
            index = np.flatnonzero(subset)
            if index.size == 0:
                continue
            stated = None
            if size == 4:
                stated = np.array(
                    [
                        velocity_components(r.velocity.course, r.velocity.speed)
                        for r in _at(reports, index)
                        if r.velocity is not None
                    ]
                ).reshape(-1, 2)
            models = imm.step(
                imm.Models(model_means[index], model_covs[index], model_probs[index]),
                dt[index],
                lag[index],
                class_q[index],
                imm.Fix(fix[index], fix_variance[index], stated, self._settings.velocity_sd**2),
            )
            mean, cov[index] = imm.combined(models)
            lat[index], lon[index] = moved_arrays(
                lat[index], lon[index], mean[:, 0], mean[:, 1], per_degree_lon[index]
            )
            vel[index] = mean[:, 2:]
            models.means[:, :, :2] -= mean[:, None, :2]
            model_means[index] = models.means
            model_covs[index] = models.covs
            model_probs[index] = models.probs
        top_model = table.profiles.max_speed[motion]
        model_speed = np.hypot(model_means[:, :, 2], model_means[:, :, 3])
        model_scale = np.where(
            model_speed > top_model[:, None],
            top_model[:, None] / np.maximum(model_speed, 1e-9),
            1.0,
        )
        model_means[:, :, 2:] *= model_scale[:, :, None]
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
            arrays.model_means[rows] = model_means
            arrays.model_covs[rows] = model_covs
            arrays.model_probs[rows] = model_probs
            return
        kept = rows[keep]
        arrays.lat[kept] = lat[keep]
        arrays.lon[kept] = lon[keep]
        arrays.vel[kept] = vel[keep]
        arrays.cov[kept] = cov[keep]
        arrays.t[kept] = tau[keep]
        arrays.model_means[kept] = model_means[keep]
        arrays.model_covs[kept] = model_covs[keep]
        arrays.model_probs[kept] = model_probs[keep]


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
