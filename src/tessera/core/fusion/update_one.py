"""The Kalman step, one track at a time: ``UpdateRound._kinematics``.

Each track's step is its own few hundred operations on 4 x 4 matrices: NumPy's cost per
call outweighs them many times over, so the step is written on plain floats
(``step_floats``, with ``imm_one``), and, where the project was built (setup.py), run
compiled by ``step_kernel`` to the same bits (a test holds the two equal). Whether it was
built changes how fast the picture is made, never the picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from tessera.core.fusion import compiled, imm, imm_one
from tessera.core.fusion.arrays import TrackArrays
from tessera.core.fusion.gating import GATE_CHI2
from tessera.core.fusion.geo import moved, offset_metres, velocity_components
from tessera.core.fusion.kalman import predict_floats
from tessera.core.fusion.motion import ProfileTable
from tessera.core.fusion.record import axis_variance
from tessera.core.model import Report

# Up to this many tracks, one call each costs less than gathering arrays for one call.
_ONE_CALL_ROWS = 3


def step_one(
    arrays: TrackArrays,
    profiles: ProfileTable,
    velocity_sd: float,
    row: int,
    observed: float,
    report: Report,
    *,
    keyed: bool,
    motion: int,
) -> bool:
    """Step ``row`` by ``report`` (see ``step_floats``), compiled where it was built."""
    if not compiled.COMPILED:
        return step_floats(
            arrays, profiles, velocity_sd, row, observed, report, keyed=keyed, motion=motion
        )
    velocity = report.velocity
    east, north = (
        (0.0, 0.0) if velocity is None else velocity_components(velocity.course, velocity.speed)
    )
    return compiled.step_kernel.step_row(
        arrays.lat,
        arrays.lon,
        arrays.t,
        arrays.vel,
        arrays.cov,
        arrays.model_means,
        arrays.model_covs,
        arrays.model_probs,
        row,
        observed,
        report.position.lat,
        report.position.lon,
        axis_variance(report),
        keyed,
        velocity is not None,
        east,
        north,
        velocity_sd**2,
        profiles.q.item(motion),
        profiles.max_speed.item(motion),
        GATE_CHI2,
    )


def step_rows(
    arrays: TrackArrays,
    profiles: ProfileTable,
    velocity_sd: float,
    rows: npt.NDArray[np.intp],
    observed: npt.NDArray[np.float64],
    reports: Sequence[Report],
    keyed: npt.NDArray[np.bool_],
    motion: npt.NDArray[np.int8],
) -> list[int]:
    """``step_one`` for each of distinct ``rows`` in turn; the indices of those not
    stepped (keyed reports far outside the gate, see ``step_floats``)."""
    n = rows.size
    if not compiled.COMPILED or n <= _ONE_CALL_ROWS:
        return [
            index
            for index, (row, at, report, by_key, kind) in enumerate(
                zip(
                    rows.tolist(),
                    observed.tolist(),
                    reports,
                    keyed.tolist(),
                    motion.tolist(),
                    strict=True,
                )
            )
            if not step_one(
                arrays, profiles, velocity_sd, row, at, report, keyed=by_key, motion=kind
            )
        ]
    stated = np.zeros((n, 2))
    has_velocity = np.zeros(n, dtype=np.uint8)
    for index, report in enumerate(reports):
        if report.velocity is not None:
            has_velocity[index] = 1
            stated[index] = velocity_components(report.velocity.course, report.velocity.speed)
    stepped = np.ones(n, dtype=np.uint8)
    compiled.step_kernel.step_rows(
        arrays.lat,
        arrays.lon,
        arrays.t,
        arrays.vel,
        arrays.cov,
        arrays.model_means,
        arrays.model_covs,
        arrays.model_probs,
        np.ascontiguousarray(rows, dtype=np.intp),
        np.ascontiguousarray(observed, dtype=np.float64),
        np.fromiter((r.position.lat for r in reports), np.float64, n),
        np.fromiter((r.position.lon for r in reports), np.float64, n),
        np.fromiter((axis_variance(r) for r in reports), np.float64, n),
        keyed.astype(np.uint8),
        has_velocity,
        np.ascontiguousarray(stated[:, 0]),
        np.ascontiguousarray(stated[:, 1]),
        velocity_sd**2,
        np.ascontiguousarray(profiles.q[motion], dtype=np.float64),
        np.ascontiguousarray(profiles.max_speed[motion], dtype=np.float64),
        GATE_CHI2,
        stepped,
    )
    return np.flatnonzero(stepped == 0).tolist()


def step_floats(
    arrays: TrackArrays,
    profiles: ProfileTable,
    velocity_sd: float,
    row: int,
    observed: float,
    report: Report,
    *,
    keyed: bool,
    motion: int,
) -> bool:
    """Step ``row`` by ``report`` (observed at ``observed``, no more than the update lag
    before the track's time); False, with nothing changed, when a keyed report lies far
    outside the gate of the track carried back to its time (the caller starts the track
    again from it)."""
    state_t = float(arrays.t[row])
    tau = max(state_t, observed)
    dt = tau - state_t
    lag = tau - observed
    class_q = float(profiles.q[motion])
    east_v, north_v = float(arrays.vel[row, 0]), float(arrays.vel[row, 1])
    lat, lon = moved(float(arrays.lat[row]), float(arrays.lon[row]), east_v * dt, north_v * dt)
    fix_east, fix_north = offset_metres(lat, lon, report.position.lat, report.position.lon)
    fix_variance = axis_variance(report)
    if keyed:
        steady = float(arrays.model_probs[row, imm.STEADY])
        q = class_q * (1.0 - steady * (1.0 - imm.STEADY_Q_FACTOR))
        predicted = predict_floats(arrays.cov[row].tolist(), dt, q)
        spread = imm_one.retrodicted_position(predicted, lag)
        own = fix_variance + q * lag**3 / 3.0
        spread[0][0] += own
        spread[1][1] += own
        distance = imm_one.mahalanobis2(fix_east + east_v * lag, fix_north + north_v * lag, spread)
        if distance > GATE_CHI2:
            return False
    stated = None
    if report.velocity is not None and lag == 0.0:
        stated = velocity_components(report.velocity.course, report.velocity.speed)
    # The models are kept as offsets from the track's predicted position (see imm.py).
    means = arrays.model_means[row].tolist()
    for model in means:
        model[0] -= east_v * dt
        model[1] -= north_v * dt
    track = imm_one.step(
        imm_one.OneTrack(means, arrays.model_covs[row].tolist(), arrays.model_probs[row].tolist()),
        dt,
        lag,
        class_q,
        imm_one.OneFix(fix_east, fix_north, fix_variance, stated, velocity_sd**2),
    )
    mean, cov = imm_one.combined(track)
    lat, lon = moved(lat, lon, mean[0], mean[1])
    top = float(profiles.max_speed[motion])
    for model in track.means:
        model[0] -= mean[0]
        model[1] -= mean[1]
        _cap_speed(model, top)
    # Never faster than the class allows: a few noisy fixes must not fling a track.
    velocity = [mean[2], mean[3]]
    _cap_speed(velocity, top, at=0)
    arrays.lat[row] = lat
    arrays.lon[row] = lon
    arrays.vel[row] = velocity
    arrays.cov[row] = cov
    arrays.t[row] = tau
    arrays.model_means[row] = track.means
    arrays.model_covs[row] = track.covs
    arrays.model_probs[row] = track.probs
    return True


def _cap_speed(vector: list[float], top: float, at: int = 2) -> None:
    """Scale the velocity held at ``vector[at:at + 2]`` down to ``top`` m/s."""
    speed = math.hypot(vector[at], vector[at + 1])
    if speed > top:
        scale = top / max(speed, 1e-9)
        vector[at] *= scale
        vector[at + 1] *= scale
