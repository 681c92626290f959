"""``imm.step`` and ``imm.combined`` for one track, in plain floats.

With the server's micro-batches (one commit each) a batch mostly steps a single track, and
then NumPy's cost per call outweighs the arithmetic many times over: the same algebra in
floats is several times quicker. The results equal the vectorised path's to rounding (a
test holds them so); which path runs depends on the micro-batch alone, so the same
journal still gives the same picture.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from tessera.core.fusion.imm import FLOOR, PRIOR, SOJOURN_S, STEADY_Q_FACTOR
from tessera.core.fusion.kalman import predict_floats

Vector = list[float]
Matrix = list[list[float]]

# How fast the two-state chain forgets its start (see ``imm._mixing``).
_FORGETTING_RATE = 1.0 / SOJOURN_S[0] + 1.0 / SOJOURN_S[1]
_Q_FACTORS = (STEADY_Q_FACTOR, 1.0)


class OneTrack(NamedTuple):
    """One track's two models: means (2 x 4), covariances (2 x 4 x 4), probabilities."""

    means: list[Vector]
    covs: list[Matrix]
    probs: Vector


class OneFix(NamedTuple):
    """A fix's offset (m, east and north) from the models' reference point, its per-axis
    variance, and its stated velocity (east, north; None if it states none) with that
    velocity's per-axis variance."""

    east: float
    north: float
    variance: float
    velocity: tuple[float, float] | None
    velocity_variance: float


def retrodicted_position(cov: Matrix, lag: float) -> Matrix:
    """The position block (2 x 2) of ``cov`` carried back ``lag`` seconds, the process
    noise over the lag left out (as ``kalman.update_late``'s S)."""
    return [
        [
            cov[i][j] - lag * (cov[i][j + 2] + cov[i + 2][j]) + lag * lag * cov[i + 2][j + 2]
            for j in (0, 1)
        ]
        for i in (0, 1)
    ]


def mahalanobis2(east: float, north: float, spread: Matrix) -> float:
    """nu^T S^-1 nu (as ``kalman.mahalanobis2``)."""
    a, b, d = spread[0][0], spread[0][1], spread[1][1]
    return (d * east * east - 2.0 * b * east * north + a * north * north) / (a * d - b * b)


def step(track: OneTrack, dt: float, lag: float, class_q: float, fix: OneFix) -> OneTrack:
    """``imm.step`` for one track."""
    forgotten = 1.0 - math.exp(-abs(dt) * _FORGETTING_RATE)
    moves = (
        (1.0 - PRIOR[1] * forgotten, PRIOR[1] * forgotten),
        (PRIOR[0] * forgotten, 1.0 - PRIOR[0] * forgotten),
    )
    probs = track.probs
    means: list[Vector] = []
    covs: list[Matrix] = []
    ahead: Vector = []
    log_likelihoods: Vector = []
    for j in (0, 1):
        joint = (probs[0] * moves[0][j], probs[1] * moves[1][j])
        total = joint[0] + joint[1]
        ahead.append(total)
        weights = (joint[0] / max(total, 1e-300), joint[1] / max(total, 1e-300))
        mean, cov = _mixed(track, weights)
        q = class_q * _Q_FACTORS[j]
        mean = [mean[0] + mean[2] * dt, mean[1] + mean[3] * dt, mean[2], mean[3]]
        cov = predict_floats(cov, dt, q)
        own = fix.variance + q * lag**3 / 3.0
        innovation = [fix.east + mean[2] * lag - mean[0], fix.north + mean[3] * lag - mean[1]]
        expected = retrodicted_position(cov, lag)
        expected[0][0] += own
        expected[1][1] += own
        det = expected[0][0] * expected[1][1] - expected[0][1] * expected[1][0]
        distance2 = mahalanobis2(innovation[0], innovation[1], expected)
        log_likelihoods.append(-0.5 * (distance2 + math.log(max(det, 1e-12))))
        if fix.velocity is not None:
            measured = [*innovation, fix.velocity[0] - mean[2], fix.velocity[1] - mean[3]]
            noise = (own, own, fix.velocity_variance, fix.velocity_variance)
            correction, cov = _update_full(cov, measured, noise)
        else:
            correction, cov = _update_late(cov, innovation, own, lag)
        means.append([mean[k] + correction[k] for k in range(4)])
        covs.append(cov)
    best = max(log_likelihoods)
    weighted = [ahead[j] * math.exp(log_likelihoods[j] - best) for j in (0, 1)]
    total = weighted[0] + weighted[1]
    floored = [max(w / total, FLOOR) for w in weighted]
    total = floored[0] + floored[1]
    return OneTrack(means, covs, [floored[0] / total, floored[1] / total])


def combined(track: OneTrack) -> tuple[Vector, Matrix]:
    """``imm.combined`` for one track: the mixture's mean and covariance."""
    mean, cov = _mixed(track, (track.probs[0], track.probs[1]))
    return mean, _symmetric(cov)


def _mixed(track: OneTrack, weights: tuple[float, float]) -> tuple[Vector, Matrix]:
    """The two models mixed by ``weights``: mean, covariance with the spread included."""
    m0, m1 = track.means
    c0, c1 = track.covs
    w0, w1 = weights
    mean = [w0 * m0[k] + w1 * m1[k] for k in range(4)]
    g0 = [m0[k] - mean[k] for k in range(4)]
    g1 = [m1[k] - mean[k] for k in range(4)]
    cov = [
        [w0 * (c0[r][c] + g0[r] * g0[c]) + w1 * (c1[r][c] + g1[r] * g1[c]) for c in range(4)]
        for r in range(4)
    ]
    return mean, cov


def _update_late(cov: Matrix, innovation: Vector, own: float, lag: float) -> tuple[Vector, Matrix]:
    """``kalman.update_late`` for one track (with no lag, ``kalman.update``)."""
    cross = [[cov[r][k] - lag * cov[r][k + 2] for k in (0, 1)] for r in range(4)]
    inverse = _inverse2(
        cross[0][0] - lag * cross[2][0] + own,
        cross[0][1] - lag * cross[2][1],
        cross[1][0] - lag * cross[3][0],
        cross[1][1] - lag * cross[3][1] + own,
    )
    gain = [
        [cross[r][0] * inverse[0][k] + cross[r][1] * inverse[1][k] for k in (0, 1)]
        for r in range(4)
    ]
    correction = [gain[r][0] * innovation[0] + gain[r][1] * innovation[1] for r in range(4)]
    updated = [
        [cov[r][s] - (gain[r][0] * cross[s][0] + gain[r][1] * cross[s][1]) for s in range(4)]
        for r in range(4)
    ]
    return correction, _symmetric(updated)


def _update_full(
    cov: Matrix, innovation: Vector, noise: tuple[float, float, float, float]
) -> tuple[Vector, Matrix]:
    """``kalman.update`` by position and velocity (a 4-D measurement) for one track."""
    spread = [[cov[r][c] + (noise[r] if r == c else 0.0) for c in range(4)] for r in range(4)]
    inverse = _inverse4(spread)
    gain = [_times(row, inverse) for row in cov]
    correction = [sum(g * v for g, v in zip(row, innovation, strict=True)) for row in gain]
    updated = [
        [value - change for value, change in zip(cov_row, _times(gain_row, cov), strict=True)]
        for cov_row, gain_row in zip(cov, gain, strict=True)
    ]
    return correction, _symmetric(updated)


def _times(row: Vector, matrix: Matrix) -> Vector:
    """``row`` (1 x 4) times ``matrix`` (4 x 4)."""
    a, b, c, d = row
    m0, m1, m2, m3 = matrix
    return [a * m0[k] + b * m1[k] + c * m2[k] + d * m3[k] for k in range(4)]


def _symmetric(matrix: Matrix) -> Matrix:
    size = len(matrix)
    return [[0.5 * (matrix[r][c] + matrix[c][r]) for c in range(size)] for r in range(size)]


def _inverse4(matrix: Matrix) -> Matrix:
    """The inverse of a symmetric positive definite 4 x 4 matrix (a covariance plus
    noise) by its 2 x 2 blocks [[A, B], [B^T, D]] and the Schur complement of A."""
    a = _inverse2(matrix[0][0], matrix[0][1], matrix[1][0], matrix[1][1])
    b = [[matrix[0][2], matrix[0][3]], [matrix[1][2], matrix[1][3]]]
    a_inv_b = _product2(a, b)
    # D - C A^-1 B, with C the lower left block.
    c = [[matrix[2][0], matrix[2][1]], [matrix[3][0], matrix[3][1]]]
    c_a_inv_b = _product2(c, a_inv_b)
    schur = _inverse2(
        matrix[2][2] - c_a_inv_b[0][0],
        matrix[2][3] - c_a_inv_b[0][1],
        matrix[3][2] - c_a_inv_b[1][0],
        matrix[3][3] - c_a_inv_b[1][1],
    )
    c_a_inv = _product2(c, a)
    upper_right = _product2(a_inv_b, schur)
    lower_left = _product2(schur, c_a_inv)
    correction = _product2(upper_right, c_a_inv)
    return [
        [
            a[0][0] + correction[0][0],
            a[0][1] + correction[0][1],
            -upper_right[0][0],
            -upper_right[0][1],
        ],
        [
            a[1][0] + correction[1][0],
            a[1][1] + correction[1][1],
            -upper_right[1][0],
            -upper_right[1][1],
        ],
        [-lower_left[0][0], -lower_left[0][1], schur[0][0], schur[0][1]],
        [-lower_left[1][0], -lower_left[1][1], schur[1][0], schur[1][1]],
    ]


def _inverse2(a: float, b: float, c: float, d: float) -> Matrix:
    det = a * d - b * c
    return [[d / det, -b / det], [-c / det, a / det]]


def _product2(left: Matrix, right: Matrix) -> Matrix:
    return [[left[i][0] * right[0][j] + left[i][1] * right[1][j] for j in (0, 1)] for i in (0, 1)]
