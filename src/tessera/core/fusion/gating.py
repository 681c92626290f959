"""Gater: which tracks could a report be about.

Coarse first: a k-d tree over the tracks' predicted positions (on the sphere, in metres)
finds the few tracks near each report. Then fine: each candidate track is predicted to
the report's own observation time and tested with chi-square on the Mahalanobis distance,
using the track's uncertainty and that report's own error, so a 10 m unit fix and a 2 km
open-source post are judged by what each actually says. Where the project was built,
``gate_kernel`` runs the brute-force coarse gate and the fine gate compiled (the same
formulas; a test holds the two alike).
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

from tessera.core.fusion import compiled
from tessera.core.fusion.arrays import DEAD, UNPINNED, TrackArrays
from tessera.core.fusion.association import GatedPairs
from tessera.core.fusion.geo import earth_xyz, moved_arrays, offsets_metres
from tessera.core.fusion.identity_gate import with_identity
from tessera.core.fusion.imm import MANOEUVRING, gating_covariance
from tessera.core.fusion.kalman import log_det2, mahalanobis2, position_covariance
from tessera.core.fusion.motion import ProfileTable

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

# Chi-square, 2 degrees of freedom, 99%: a report this far out is not the track.
GATE_CHI2: Final = 9.21
GATE_SIGMAS: Final = math.sqrt(GATE_CHI2)


class Detections(NamedTuple):
    """The anonymous reports of one micro-batch, as arrays."""

    lat: FloatArray
    lon: FloatArray
    t: FloatArray
    variance: FloatArray  # per axis, m^2
    side: npt.NDArray[np.int8]  # 1 hostile side, 0 otherwise
    # What each states of the thing's identity (``identity_gate.Statement``).
    statement: FloatArray  # likelihood of each class
    unbelieved: FloatArray  # likelihood under no belief (0: states nothing)


_EMPTY: Final = GatedPairs(np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0), np.zeros(0))


# Micro-batches of at most this many reports are gated without a k-d tree. Compiled, one
# pass passes over most rows by latitude alone, so it stays cheaper for longer: up to this
# many report-track pairs (its buffers hold one slot for each).
BRUTE_FORCE_REPORTS: Final = 8
BRUTE_FORCE_PAIRS_COMPILED: Final = 1 << 18
# How far back along its way a late report may find its track, at most (coarse gate only).
LATE_REACH_M: Final = 60_000.0


def predicted_positions(
    arrays: TrackArrays, rows: IntArray, t: FloatArray | float
) -> tuple[FloatArray, FloatArray]:
    dt = t - arrays.t[rows]
    vel = arrays.vel[rows]
    return moved_arrays(arrays.lat[rows], arrays.lon[rows], vel[:, 0] * dt, vel[:, 1] * dt)


def candidates(
    arrays: TrackArrays,
    rows: IntArray,
    detections: Detections,
    batch_time: float,
    radius: FloatArray,
) -> tuple[IntArray, IntArray]:
    """Coarse gate: (report index, track row) for tracks predicted to the batch time
    within ``radius`` metres of each report."""
    none = np.zeros(0, np.intp)
    if rows.size == 0 or detections.lat.size == 0:
        return none, none
    lat, lon = predicted_positions(arrays, rows, batch_time)
    tracks_xyz = earth_xyz(lat, lon)
    reports_xyz = earth_xyz(detections.lat, detections.lon)
    if detections.lat.size <= BRUTE_FORCE_REPORTS:
        # A small micro-batch (one commit of a quiet feed): measuring every distance costs
        # less than building the tree, and gives the same pairs in the same order.
        apart2 = ((reports_xyz[:, None, :] - tracks_xyz[None, :, :]) ** 2).sum(axis=2)
        report, near = np.nonzero(apart2 <= (np.asarray(radius) ** 2).reshape(-1, 1))
        return report.astype(np.intp), rows[near]
    from scipy.spatial import cKDTree  # (only for larger micro-batches)

    tree = cKDTree(tracks_xyz)
    found = tree.query_ball_point(reports_xyz, radius)
    counts = np.fromiter((len(near) for near in found), np.intp, len(found))
    if counts.sum() == 0:
        return none, none
    report = np.repeat(np.arange(len(found), dtype=np.intp), counts)
    return report, rows[np.concatenate([near for near in found if near]).astype(np.intp)]


def _gated_spread(
    arrays: TrackArrays, rows: IntArray, dt: FloatArray, q_by_motion: FloatArray
) -> FloatArray:
    """The position covariance a fix is gated with: the manoeuvring motion model's,
    predicted ``dt`` on with its kind's whole process noise (``imm.gating_covariance``)."""
    cov = gating_covariance(arrays.model_means[rows], arrays.model_covs[rows], arrays.vel[rows])
    return position_covariance(cov, dt, q_by_motion[arrays.motion[rows]])


def _fine(
    report: IntArray,
    track_rows: IntArray,
    lat: FloatArray,
    lon: FloatArray,
    spread: FloatArray,
    arrays: TrackArrays,
    detections: Detections,
    *,
    fit_only: npt.NDArray[np.bool_] | None = None,
) -> GatedPairs:
    """Chi-square gate on the Mahalanobis distance, with each report's own error, then
    weighed by what each report states of the thing's identity (``identity_gate``).
    ``fit_only`` (per candidate pair): pairs costed by the distance alone."""
    spread[:, 0, 0] += detections.variance[report]
    spread[:, 1, 1] += detections.variance[report]
    innovation = offsets_metres(lat, lon, detections.lat[report], detections.lon[report])
    distance2 = mahalanobis2(innovation, spread)
    # A declared side (a unit's own, an import's) outweighs any sighting of the other side.
    pinned = arrays.side[track_rows]
    compatible = (pinned == UNPINNED) | (pinned == detections.side[report])
    inside = (distance2 <= GATE_CHI2) & compatible
    # Likelihood cost: a vague track must not win over a precise one just by its size.
    cost = distance2[inside] + log_det2(spread[inside])
    if fit_only is not None:
        cost = np.where(fit_only[inside], distance2[inside], cost)
    kinematic = GatedPairs(report[inside], track_rows[inside], cost, distance2[inside])
    return with_identity(kinematic, detections.statement, detections.unbelieved, arrays, GATE_CHI2)


def gate(
    arrays: TrackArrays,
    rows: IntArray,
    q_by_motion: FloatArray,
    detections: Detections,
    batch_time: float,
    margin_m: float,
) -> GatedPairs:
    """Pairs (report index, track row) inside the gate, each track predicted to the
    report's own observation time."""
    if rows.size == 0:
        return _EMPTY
    if compiled.COMPILED:
        largest = compiled.gate_kernel.largest_variance(arrays.cov, arrays.model_covs, rows)
    else:
        manoeuvring = arrays.model_covs[rows, MANOEUVRING]
        largest = np.max(
            np.maximum(
                arrays.position_variance(rows),
                0.5 * (manoeuvring[:, 0, 0] + manoeuvring[:, 1, 1]),
            )
        )
    track_sd = math.sqrt(largest)
    radius = GATE_SIGMAS * (np.sqrt(2.0 * detections.variance) + min(track_sd, margin_m))
    if compiled.COMPILED:
        return _gated_compiled(
            arrays, rows, q_by_motion, detections, batch_time, radius + margin_m, late=False
        )
    report, track_rows = candidates(arrays, rows, detections, batch_time, radius + margin_m)
    if report.size == 0:
        return _EMPTY
    dt = detections.t[report] - arrays.t[track_rows]
    vel = arrays.vel[track_rows]
    lat, lon = moved_arrays(
        arrays.lat[track_rows], arrays.lon[track_rows], vel[:, 0] * dt, vel[:, 1] * dt
    )
    spread = _gated_spread(arrays, track_rows, dt, q_by_motion)
    return _fine(report, track_rows, lat, lon, spread, arrays, detections)


def gate_late(
    arrays: TrackArrays,
    rows: IntArray,
    q_by_motion: FloatArray,
    max_speed: float,
    detections: Detections,
    batch_time: float,
) -> GatedPairs:
    """The gate for reports observed long before the batch: each track is placed where
    its history says it was at the report's time, or carried there by its own motion
    where the history does not say."""
    if rows.size == 0:
        return _EMPTY
    travelled = max_speed * np.maximum(batch_time - detections.t, 0.0)
    radius = GATE_SIGMAS * np.sqrt(2.0 * detections.variance) + np.minimum(travelled, LATE_REACH_M)
    if compiled.COMPILED:
        return _gated_compiled(arrays, rows, q_by_motion, detections, batch_time, radius, late=True)
    report, track_rows = candidates(arrays, rows, detections, batch_time, radius)
    if report.size == 0:
        return _EMPTY
    t = detections.t[report]
    dt = t - arrays.t[track_rows]
    vel = arrays.vel[track_rows]
    lat, lon = moved_arrays(
        arrays.lat[track_rows], arrays.lon[track_rows], vel[:, 0] * dt, vel[:, 1] * dt
    )
    spread = _gated_spread(arrays, track_rows, dt, q_by_motion)
    behind = np.flatnonzero(dt < 0.0)
    past_lat, past_lon, past_var, known = arrays.past_positions(track_rows[behind], t[behind])
    # Where the history reaches back that far it says where the track was; before that,
    # the track is carried back by its own motion, its uncertainty growing as it goes.
    placed = behind[known]
    lat[placed] = past_lat[known]
    lon[placed] = past_lon[known]
    spread[placed] = 0.0
    spread[placed, 0, 0] = past_var[known]
    spread[placed, 1, 1] = past_var[known]
    # A late report is mostly a vague one (a patrol's spot report, minutes old) that
    # cannot tell apart the vehicles of a column: it goes to the track it fits best in its
    # own error, not to the most precise. By likelihood the few tracks a drone last saw
    # would take every one, and the rest of the column, unheard, would go stale.
    fit_only = np.ones(track_rows.size, dtype=bool)
    return _fine(report, track_rows, lat, lon, spread, arrays, detections, fit_only=fit_only)


def _gated_compiled(
    arrays: TrackArrays,
    rows: IntArray,
    q_by_motion: FloatArray,
    detections: Detections,
    batch_time: float,
    radius: FloatArray,
    *,
    late: bool,
) -> GatedPairs:
    """``gate`` (``late``: ``gate_late``) from its coarse radius on, by ``gate_kernel``:
    a small micro-batch measures every distance in the same pass."""
    size = detections.lat.size * rows.size
    small = size <= BRUTE_FORCE_PAIRS_COMPILED
    if not small:
        report, track_rows = candidates(arrays, rows, detections, batch_time, radius)
        size = report.size
    if size == 0:
        return _EMPTY
    out = GatedPairs(
        np.empty(size, np.intp), np.empty(size, np.intp), np.empty(size), np.empty(size)
    )
    tracks = (
        arrays.lat,
        arrays.lon,
        arrays.t,
        arrays.vel,
        arrays.cov,
        arrays.model_means,
        arrays.model_covs,
        arrays.motion,
        arrays.side,
        arrays.history,
        arrays.belief,
        arrays.declared,
        q_by_motion,
    )
    if small:
        kept = compiled.gate_kernel.gated_pairs(
            *tracks,
            rows,
            *detections,
            radius,
            batch_time,
            late,
            GATE_CHI2,
            *out,
        )
    else:
        kept = compiled.gate_kernel.fine_pairs(
            *tracks, report, track_rows, *detections, late, GATE_CHI2, *out
        )
    return GatedPairs(out.report[:kept], out.row[:kept], out.cost[:kept], out.distance2[:kept])


class Detection(NamedTuple):
    """One anonymous report, as numbers (``Detections`` of one)."""

    lat: float
    lon: float
    t: float
    variance: float
    side: int
    statement: tuple[float, ...]
    unbelieved: float

    def as_detections(self) -> Detections:
        return Detections(
            lat=np.array([self.lat]),
            lon=np.array([self.lon]),
            t=np.array([self.t]),
            variance=np.array([self.variance]),
            side=np.array([self.side], dtype=np.int8),
            statement=np.array([self.statement]),
            unbelieved=np.array([self.unbelieved]),
        )


def gate_one(
    arrays: TrackArrays,
    profiles: ProfileTable,
    detection: Detection,
    batch_time: float,
    margin_m: float,
    *,
    late: bool,
) -> list[int]:
    """The rows ``gate`` (``late``: ``gate_late``) pairs one report with, against every
    live row, cheapest first (the lowest row among equals). Compiled, the kernel takes the
    report as numbers and finds the live rows itself."""
    if not compiled.COMPILED:
        rows = arrays.live_rows()
        detections = detection.as_detections()
        if late:
            fastest = float(profiles.max_speed[arrays.motion[rows]].max(initial=0.0))
            pairs = gate_late(arrays, rows, profiles.q, fastest, detections, batch_time)
        else:
            pairs = gate(arrays, rows, profiles.q, detections, batch_time, margin_m)
        return [row for _, row in sorted(zip(pairs.cost.tolist(), pairs.row.tolist(), strict=True))]
    l0, l1, l2, l3 = detection.statement
    return compiled.gate_kernel.gated_one(
        arrays.lat,
        arrays.lon,
        arrays.t,
        arrays.vel,
        arrays.cov,
        arrays.model_means,
        arrays.model_covs,
        arrays.motion,
        arrays.side,
        arrays.history,
        arrays.belief,
        arrays.declared,
        profiles.q,
        arrays.alive.view(np.uint8),
        arrays.status,
        DEAD,
        profiles.max_speed,
        detection.lat,
        detection.lon,
        detection.t,
        detection.variance,
        detection.side,
        l0,
        l1,
        l2,
        l3,
        detection.unbelieved,
        batch_time,
        late,
        margin_m,
        LATE_REACH_M,
        GATE_SIGMAS,
        GATE_CHI2,
    )
