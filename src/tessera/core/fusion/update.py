"""Predictor and updater, applied to many tracks at once.

Reports assigned in a micro-batch are applied in rounds: round k takes the k-th report of
each track (journal order), so every round is one vectorised Kalman step over distinct
tracks. A report a little older than its track (up to ``short_lag``) still updates it:
it is carried forward to the track's time by the track's own velocity, with its error
grown by what that velocity does not know. An older one only adds evidence.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from tessera.core.fusion.gating import GATE_CHI2
from tessera.core.fusion.geo import moved_arrays, offsets_metres, velocity_components
from tessera.core.fusion.kalman import mahalanobis2, predict_covariance, update
from tessera.core.fusion.lifecycle import Lifecycle
from tessera.core.fusion.record import TrackRecord, axis_variance
from tessera.core.fusion.settings import FusionSettings, FusionStats
from tessera.core.fusion.table import TrackTable
from tessera.core.model import Report

FloatArray = npt.NDArray[np.float64]
Pair = tuple[TrackRecord, Report]


class UpdateRound:
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
        lag_behind = arrays.t[rows] - observed
        moving = np.flatnonzero(lag_behind <= self._settings.short_lag)
        late = int(np.count_nonzero(lag_behind[moving] > 0.0))
        self._stats.late_updates += late
        self._stats.late_confirmations += n - moving.size
        if moving.size:
            self._kinematics(members, rows, observed, moving, keyed=keyed)
        absorb = self._lifecycle.absorb_evidence
        enough = np.fromiter((absorb(record, report) for record, report in members), bool, n)
        self._lifecycle.settle(rows, observed, enough)

    def _kinematics(
        self,
        members: list[Pair],
        rows_all: npt.NDArray[np.intp],
        observed_all: FloatArray,
        moving: npt.NDArray[np.intp],
        *,
        keyed: bool,
    ) -> None:
        table = self._table
        arrays = table.arrays
        reports = [members[i][1] for i in moving.tolist()]
        rows = rows_all[moving]
        observed = observed_all[moving]
        n = rows.size
        tau = np.maximum(arrays.t[rows], observed)
        dt = tau - arrays.t[rows]
        lag = tau - observed
        q = table.profiles.q[arrays.motion[rows]]
        vel = arrays.vel[rows].copy()
        lat, lon = moved_arrays(arrays.lat[rows], arrays.lon[rows], vel[:, 0] * dt, vel[:, 1] * dt)
        cov = predict_covariance(arrays.cov[rows], dt, q)
        # The report carried forward to the track's time, its error grown accordingly.
        z_lat = np.fromiter((r.position.lat for r in reports), np.float64, n)
        z_lon = np.fromiter((r.position.lon for r in reports), np.float64, n)
        extra = np.fromiter((axis_variance(r) for r in reports), np.float64, n)
        noise = np.zeros((n, 2, 2))
        if lag.any():
            z_lat, z_lon = moved_arrays(z_lat, z_lon, vel[:, 0] * lag, vel[:, 1] * lag)
            noise += (lag * lag)[:, None, None] * cov[:, 2:, 2:]
            extra += q * lag**3 / 3
        noise[:, 0, 0] += extra
        noise[:, 1, 1] += extra
        innovation = offsets_metres(lat, lon, z_lat, z_lon)
        keep = np.ones(n, dtype=bool)
        if keyed:
            # A keyed report says where that very thing is: far outside the gate, the
            # track was wrong (stale, or the subject jumped), so start again from it.
            far = mahalanobis2(innovation, cov[:, :2, :2] + noise) > GATE_CHI2
            for outlier in np.flatnonzero(far).tolist():
                self._lifecycle.reset_kinematics(
                    int(rows[outlier]), reports[outlier], float(observed[outlier])
                )
            keep = ~far
        with_velocity = np.fromiter((r.velocity is not None for r in reports), bool, n) & (
            lag == 0.0
        )
        for subset, size in ((keep & ~with_velocity, 2), (keep & with_velocity, 4)):
            index = np.flatnonzero(subset)
            if index.size == 0:
                continue
            measured_noise = noise[index]
            measured = innovation[index]
            if size == 4:
                velocity_var = self._settings.velocity_sd**2
                measured_noise = np.zeros((index.size, 4, 4))
                measured_noise[:, :2, :2] = noise[index]
                measured_noise[:, 2, 2] = measured_noise[:, 3, 3] = velocity_var
                stated = np.array(
                    [
                        velocity_components(r.velocity.course, r.velocity.speed)
                        for r in _at(reports, index)
                        if r.velocity is not None
                    ]
                ).reshape(-1, 2)
                measured = np.concatenate((innovation[index], stated - vel[index]), axis=1)
            correction, cov[index] = update(cov[index], measured, measured_noise)
            lat[index], lon[index] = moved_arrays(
                lat[index], lon[index], correction[:, 0], correction[:, 1]
            )
            vel[index] += correction[:, 2:]
        # Never faster than the class allows: a few noisy fixes must not fling a track.
        top = table.profiles.max_speed[arrays.motion[rows]]
        speed = np.hypot(vel[:, 0], vel[:, 1])
        scale = np.where(speed > top, top / np.maximum(speed, 1e-9), 1.0)
        vel *= scale[:, None]
        kept = rows[keep]
        arrays.lat[kept] = lat[keep]
        arrays.lon[kept] = lon[keep]
        arrays.vel[kept] = vel[keep]
        arrays.cov[kept] = cov[keep]
        arrays.t[kept] = tau[keep]


def _at(reports: list[Report], index: npt.NDArray[np.intp]) -> list[Report]:
    return [reports[i] for i in index.tolist()]


def _velocity(report: Report) -> tuple[float, float]:
    assert report.velocity is not None
    return velocity_components(report.velocity.course, report.velocity.speed)
