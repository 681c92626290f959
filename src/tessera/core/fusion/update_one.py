"""One track's Kalman step in plain floats: ``UpdateRound._kinematics`` for one row.

A micro-batch of one report (each of the server's commits) steps one track; the
vectorised step then spends its time in NumPy's per-call cost on arrays of one row. This
is the same step, in the same order, on floats (``imm_one``); a test holds the two equal
to rounding.
"""

from __future__ import annotations

import math

from tessera.core.fusion import imm, imm_one
from tessera.core.fusion.arrays import TrackArrays
from tessera.core.fusion.gating import GATE_CHI2
from tessera.core.fusion.geo import moved, offset_metres, velocity_components
from tessera.core.fusion.kalman import predict_floats
from tessera.core.fusion.motion import ProfileTable
from tessera.core.fusion.record import axis_variance
from tessera.core.model import Report


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
