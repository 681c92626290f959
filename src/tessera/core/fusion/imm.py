"""Two motion models for every track, as an interacting multiple model (IMM) filter.

A thing either goes steadily (a column on a road: white-acceleration process noise
STEADY_Q_FACTOR of its kind's) or manoeuvres (all of it). Each model keeps its own
estimate; at every fix the two are first mixed by how likely the thing is to have gone
from one model to the other since (each holds for a mean sojourn), then each is predicted
and updated on its own, and each model's probability is moved by how well it foretold the
fix. The track's state is their mixture (its mean and covariance, the spread between the
models included), which is what gating, the picture and the lifecycle read. A steady
track averages many vague fixes; one that turns is followed by its manoeuvring model,
which soon outweighs the other.

Each model's estimate is kept as its offset (m, east and north) from the track's position,
with its own velocity, so a model never needs a latitude of its own.

``step`` and ``combined`` say it over arrays of tracks, in NumPy's linear algebra: the
engine steps one track at a time (``imm_one``, compiled by ``step_kernel``), and the tests
hold that step to this one.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

from tessera.core.fusion.kalman import (
    log_det2,
    mahalanobis2,
    predict_covariance,
    retrodicted_position_covariance,
    update,
    update_late,
)

FloatArray = npt.NDArray[np.float64]

STEADY, MANOEUVRING = 0, 1
STEADY_Q_FACTOR: Final = 1.0 / 16.0
# Mean time (s) each model holds before the other takes over.
SOJOURN_S: Final = (600.0, 30.0)
# The models' probabilities before any fix has told them apart: the share of time in each.
PRIOR: Final = (SOJOURN_S[0] / sum(SOJOURN_S), SOJOURN_S[1] / sum(SOJOURN_S))
# Neither model is ever ruled out (a steady thing can start to manoeuvre at any time).
FLOOR: Final = 1e-4


class Models(NamedTuple):
    """Each row's two models: ``means`` (n, 2, 4) offset east and north (m) from a
    reference point and velocity; ``covs`` (n, 2, 4, 4); ``probs`` (n, 2)."""

    means: FloatArray
    covs: FloatArray
    probs: FloatArray


class Fix(NamedTuple):
    """One fix per row: its offset (n, 2) from the reference point, its per-axis variance
    (n,), its stated velocity (n, 2) or None, and that velocity's per-axis variance."""

    offset: FloatArray
    variance: FloatArray
    velocity: FloatArray | None
    velocity_variance: float


def mixed_q(class_q: FloatArray, steady: FloatArray) -> FloatArray:
    """The process noise of the models' mixture, given the steady model's probability
    (what predicts the mixture's covariance: Q is linear in q)."""
    return np.asarray(class_q * (1.0 - steady * (1.0 - STEADY_Q_FACTOR)))


def _mixing(probs: FloatArray, dt: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The models' probabilities ``dt`` on (n, 2), and the weight (n, 2, 2) of each
    model i in model j's starting estimate."""
    # A two-state Markov chain in continuous time: over ``dt`` each model gives way to the
    # other with its share of the time, by as much as the chain has forgotten its start.
    forgotten = 1.0 - np.exp(-np.abs(dt) * (1.0 / SOJOURN_S[STEADY] + 1.0 / SOJOURN_S[MANOEUVRING]))
    moves = np.empty((dt.size, 2, 2))
    moves[:, 0, 1] = PRIOR[MANOEUVRING] * forgotten
    moves[:, 0, 0] = 1.0 - moves[:, 0, 1]
    moves[:, 1, 0] = PRIOR[STEADY] * forgotten
    moves[:, 1, 1] = 1.0 - moves[:, 1, 0]
    joint = probs[:, :, None] * moves
    ahead = joint.sum(axis=1)
    return ahead, joint / np.maximum(ahead[:, None, :], 1e-300)


def step(models: Models, dt: FloatArray, lag: FloatArray, class_q: FloatArray, fix: Fix) -> Models:
    """Mix, predict ``dt`` (s) forward and update each model with a fix observed ``lag``
    (s) before that (compared with the model carried back to its time, as
    ``kalman.update_late``); the fix's offset is from the same reference point as the
    models'. Returns the models updated, their probabilities given the fix."""
    ahead, weights = _mixing(models.probs, dt)
    n = dt.size
    # Both models of every row are stepped as one batch of 2n rows (row r's models at
    # 2r and 2r + 1): each model j starts from the mixture of the two by weights[:, :, j].
    start = (weights[:, :, :, None] * models.means[:, :, None, :]).sum(axis=1)
    gap = models.means[:, :, None, :] - start[:, None, :, :]
    spread = models.covs[:, :, None] + gap[..., :, None] * gap[..., None, :]
    cov = (weights[:, :, :, None, None] * spread).sum(axis=1).reshape(2 * n, 4, 4)
    mean = start.reshape(2 * n, 4)
    every_dt = np.repeat(dt, 2)
    every_lag = np.repeat(lag, 2)
    q = (class_q[:, None] * np.array([STEADY_Q_FACTOR, 1.0])).reshape(2 * n)
    mean[:, :2] += mean[:, 2:] * every_dt[:, None]
    cov = predict_covariance(cov, every_dt, q)
    own = np.repeat(fix.variance, 2) + q * every_lag**3 / 3.0
    noise = np.zeros((2 * n, 2, 2))
    noise[:, 0, 0] = own
    noise[:, 1, 1] = own
    innovation = np.repeat(fix.offset, 2, axis=0) + mean[:, 2:] * every_lag[:, None] - mean[:, :2]
    expected = retrodicted_position_covariance(cov, every_lag) + noise
    log_likelihood = (-0.5 * (mahalanobis2(innovation, expected) + log_det2(expected))).reshape(
        n, 2
    )
    if fix.velocity is not None:
        measured_noise = np.zeros((2 * n, 4, 4))
        measured_noise[:, :2, :2] = noise
        measured_noise[:, 2, 2] = measured_noise[:, 3, 3] = fix.velocity_variance
        stated = np.repeat(fix.velocity, 2, axis=0)
        measured = np.concatenate((innovation, stated - mean[:, 2:]), axis=1)
        correction, cov = update(cov, measured, measured_noise)
    elif lag.any():
        correction, cov = update_late(cov, innovation, noise, every_lag)
    else:
        correction, cov = update(cov, innovation, noise)
    means = (mean + correction).reshape(n, 2, 4)
    covs = cov.reshape(n, 2, 4, 4)
    best = log_likelihood.max(axis=1, keepdims=True)
    probs = ahead * np.exp(log_likelihood - best)
    probs /= probs.sum(axis=1, keepdims=True)
    probs = np.maximum(probs, FLOOR)
    probs /= probs.sum(axis=1, keepdims=True)
    return Models(means, covs, probs)


def combined(models: Models) -> tuple[FloatArray, FloatArray]:
    """The mixture's mean (n, 4) and covariance (n, 4, 4)."""
    probs = models.probs
    mean = (probs[:, :, None] * models.means).sum(axis=1)
    gap = models.means - mean[:, None, :]
    spread = models.covs + gap[:, :, :, None] * gap[:, :, None, :]
    cov = (probs[:, :, None, None] * spread).sum(axis=1)
    return mean, 0.5 * (cov + cov.transpose(0, 2, 1))


def gating_covariance(means: FloatArray, covs: FloatArray, velocity: FloatArray) -> FloatArray:
    """What a fix is gated with (n, 4, 4): the manoeuvring model's covariance, widened by
    how far its estimate is from the track's (offset ``means`` (n, 2, 4), the track's
    ``velocity`` (n, 2)). A track that has gone steadily for long is then still found by
    the fixes of its first turn, which the steady model alone would refuse."""
    gap = means[:, MANOEUVRING].copy()
    gap[:, 2:] -= velocity
    return np.asarray(covs[:, MANOEUVRING] + gap[:, :, None] * gap[:, None, :])
