"""Constant-velocity Kalman filter, vectorised over many tracks at once.

The state of each track is (east, north, v_east, v_north) in a local metric frame centred
on the track itself: the position is kept as latitude/longitude and every step works on
offsets in metres from it, so the filter never sees degrees. Process noise is white
acceleration with spectral density ``q`` (m^2/s^3), which is what sets how fast a track's
uncertainty grows by motion class.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def transition(dt: FloatArray) -> FloatArray:
    """F (n, 4, 4): position moves by velocity times ``dt`` (the definition that
    ``predict_covariance`` writes out)."""
    f = np.broadcast_to(np.eye(4), (dt.shape[0], 4, 4)).copy()
    f[:, 0, 2] = dt
    f[:, 1, 3] = dt
    return f


def process_noise(dt: FloatArray, q: FloatArray) -> FloatArray:
    """Q (n, 4, 4) of the continuous white-noise acceleration model over ``|dt|`` (the
    definition that ``predict_covariance`` writes out)."""
    span = np.abs(dt)
    velocity = q * span
    cross = velocity * span / 2.0
    position = cross * span * (2.0 / 3.0)
    noise = np.zeros((dt.shape[0], 4, 4))
    noise[:, (0, 1), (0, 1)] = position[:, None]
    noise[:, (0, 1), (2, 3)] = cross[:, None]
    noise[:, (2, 3), (0, 1)] = cross[:, None]
    noise[:, (2, 3), (2, 3)] = velocity[:, None]
    return noise


def predict_covariance(cov: FloatArray, dt: FloatArray, q: FloatArray) -> FloatArray:
    """P' = F P F^T + Q for each track, written out by blocks (F is identity but for the
    dt that couples position to velocity, and Q is diagonal in each block), which is
    several times quicker than matmuls on small batches."""
    if dt.shape[0] == 1:
        return _predict_one(cov, float(dt[0]), float(q[0]))
    step = dt[:, None, None]
    pv = cov[:, :2, 2:]
    vp = cov[:, 2:, :2]
    vv = cov[:, 2:, 2:]
    predicted = np.empty_like(cov)
    predicted[:, :2, :2] = cov[:, :2, :2] + step * (pv + vp) + step * step * vv
    grown = step * vv
    predicted[:, :2, 2:] = pv + grown
    predicted[:, 2:, :2] = vp + grown
    predicted[:, 2:, 2:] = vv
    # The white-noise acceleration model's Q over |dt| (see ``process_noise``).
    span = np.abs(dt)
    velocity = q * span
    cross = velocity * span / 2.0
    position = cross * span * (2.0 / 3.0)
    # (Element by element: plain indexing is much quicker than fancy indexing here.)
    for axis in (0, 1):
        predicted[:, axis, axis] += position
        predicted[:, axis, axis + 2] += cross
        predicted[:, axis + 2, axis] += cross
        predicted[:, axis + 2, axis + 2] += velocity
    return predicted


def _predict_one(cov: FloatArray, dt: float, q: float) -> FloatArray:
    """``predict_covariance`` of one track, in plain floats (a micro-batch of one report
    mostly steps one track): the same operations in the same order, so the same bits."""
    return np.array([predict_floats(cov[0].tolist(), dt, q)])


def predict_floats(cov: list[list[float]], dt: float, q: float) -> list[list[float]]:
    """``predict_covariance`` of one covariance (4 x 4) held as lists of floats."""
    span = abs(dt)
    velocity = q * span
    cross = velocity * span / 2.0
    position = cross * span * (2.0 / 3.0)
    out = [[0.0] * 4 for _ in range(4)]
    for i in (0, 1):
        for j in (0, 1):
            vv = cov[i + 2][j + 2]
            out[i][j] = cov[i][j] + dt * (cov[i][j + 2] + cov[i + 2][j]) + dt * dt * vv
            grown = dt * vv
            out[i][j + 2] = cov[i][j + 2] + grown
            out[i + 2][j] = cov[i + 2][j] + grown
            out[i + 2][j + 2] = vv
    for axis in (0, 1):
        out[axis][axis] += position
        out[axis][axis + 2] += cross
        out[axis + 2][axis] += cross
        out[axis + 2][axis + 2] += velocity
    return out


def position_covariance(cov: FloatArray, dt: FloatArray, q: FloatArray) -> FloatArray:
    """Only the 2x2 position block of the prediction, which is all gating needs."""
    pp = cov[:, :2, :2]
    pv = cov[:, :2, 2:]
    vv = cov[:, 2:, 2:]
    step = dt[:, None, None]
    grown = pp + step * (pv + pv.transpose(0, 2, 1)) + step * step * vv
    growth = q * np.abs(dt) ** 3 / 3.0
    grown[:, 0, 0] += growth
    grown[:, 1, 1] += growth
    return np.asarray(grown)


def retrodicted_position_covariance(cov: FloatArray, lag: FloatArray) -> FloatArray:
    """The position block (n, 2, 2) of each ``cov`` carried back ``lag`` seconds (n,), the
    process noise over the lag left out (as ``update_late``'s S, less the noise)."""
    back = lag[:, None, None]
    return np.asarray(
        cov[:, :2, :2] - back * (cov[:, :2, 2:] + cov[:, 2:, :2]) + back * back * cov[:, 2:, 2:]
    )


def mahalanobis2(innovation: FloatArray, spread: FloatArray) -> FloatArray:
    """nu^T S^-1 nu for 2-D innovations (n, 2) and their covariances (n, 2, 2)."""
    a = spread[:, 0, 0]
    b = spread[:, 0, 1]
    d = spread[:, 1, 1]
    det = a * d - b * b
    x = innovation[:, 0]
    y = innovation[:, 1]
    return np.asarray((d * x * x - 2.0 * b * x * y + a * y * y) / det)


def log_det2(spread: FloatArray) -> FloatArray:
    det = spread[:, 0, 0] * spread[:, 1, 1] - spread[:, 0, 1] * spread[:, 1, 0]
    return np.asarray(np.log(np.maximum(det, 1e-12)))


def update(
    cov: FloatArray, innovation: FloatArray, noise: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """One Kalman update for each track: the state correction (n, 4) and the new P.

    The measurement is the first ``m`` state components (position, or position and
    velocity), with innovations (n, m) and noise covariances (n, m, m).
    """
    m = innovation.shape[1]
    spread = cov[:, :m, :m] + noise
    gain = cov[:, :, :m] @ (_inverse2(spread) if m == 2 else np.linalg.inv(spread))
    correction = (gain @ innovation[:, :, None])[:, :, 0]
    updated = cov - gain @ cov[:, :m, :]
    # Keep P symmetric against rounding, so it stays a valid covariance over long runs.
    updated = 0.5 * (updated + updated.transpose(0, 2, 1))
    return np.asarray(correction), np.asarray(updated)


def update_late(
    cov: FloatArray, innovation: FloatArray, noise: FloatArray, lag: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """A Kalman update by position fixes observed ``lag`` seconds (n,) before the state's
    time (an out-of-sequence measurement, after Bar-Shalom's one-step retrodiction with
    the process noise's cross-correlation left out): the fix is compared with the state
    carried back to its time, so an old fix corrects the velocity as well as the
    position, by what the lag says it shows of the motion. ``innovation`` (n, 2) is the
    fix less that retrodicted position; ``noise`` (n, 2, 2) the fix's own error plus the
    process noise over the lag. With no lag this is ``update``.

    The gain is C S^-1 with C = P F^T H^T (F carrying the state back by the lag) and
    S = H F P F^T H^T + noise; P' = P - C S^-1 C^T.
    """
    step = lag[:, None, None]
    cross = cov[:, :, :2] - step * cov[:, :, 2:]
    spread = cross[:, :2, :] - step * cross[:, 2:, :] + noise
    gain = cross @ _inverse2(spread)
    correction = (gain @ innovation[:, :, None])[:, :, 0]
    updated = cov - gain @ cross.transpose(0, 2, 1)
    updated = 0.5 * (updated + updated.transpose(0, 2, 1))
    return np.asarray(correction), np.asarray(updated)


def _inverse2(spread: FloatArray) -> FloatArray:
    """Inverses of 2x2 matrices (n, 2, 2), written out: far quicker than a LAPACK call
    for each of a few matrices."""
    a = spread[:, 0, 0]
    b = spread[:, 0, 1]
    c = spread[:, 1, 0]
    d = spread[:, 1, 1]
    det = a * d - b * c
    inverse = np.empty_like(spread)
    inverse[:, 0, 0] = d / det
    inverse[:, 0, 1] = -b / det
    inverse[:, 1, 0] = -c / det
    inverse[:, 1, 1] = a / det
    return inverse
