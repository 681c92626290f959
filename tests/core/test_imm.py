"""The two motion models (core.fusion.imm): mixing, updating and combining them."""

from __future__ import annotations

import numpy as np
import pytest

from tessera.core.fusion import imm


def _models(probs: tuple[float, float]) -> imm.Models:
    means = np.array([[[0.0, 0.0, 8.0, 0.0], [30.0, -10.0, 6.0, 3.0]]])
    covs = np.stack([np.diag([400.0, 400.0, 1.0, 1.0]), np.diag([900.0, 900.0, 9.0, 9.0])])
    return imm.Models(means, covs[None], np.array([probs]))


def test_the_mixture_of_two_equal_models_is_that_model() -> None:
    one = _models((0.3, 0.7))
    same = imm.Models(
        np.repeat(one.means[:, :1], 2, axis=1), np.repeat(one.covs[:, :1], 2, axis=1), one.probs
    )
    mean, cov = imm.combined(same)
    assert mean[0] == pytest.approx(same.means[0, 0])
    assert cov[0] == pytest.approx(same.covs[0, 0])


def test_the_mixture_holds_the_spread_between_the_models() -> None:
    models = _models((0.5, 0.5))
    mean, cov = imm.combined(models)
    assert mean[0] == pytest.approx([15.0, -5.0, 7.0, 1.5])
    # Half of each model's variance, plus the square of half the gap between them.
    assert cov[0, 0, 0] == pytest.approx(0.5 * 400 + 0.5 * 900 + 15.0**2)
    assert np.all(np.linalg.eigvalsh(cov[0]) > 0)


def test_probabilities_stay_a_distribution_and_move_towards_the_model_that_foretold() -> None:
    models = _models(imm.PRIOR)
    dt, lag, q = np.array([5.0]), np.array([0.0]), np.array([1.0])
    # A fix right where the steady model says: the steady model gains.
    on_course = imm.Fix(np.array([[40.0, 0.0]]), np.array([400.0]), None, 1.0)
    after = imm.step(models, dt, lag, q, on_course)
    assert after.probs.sum() == pytest.approx(1.0)
    assert after.probs[0, imm.STEADY] > imm.PRIOR[imm.STEADY]
    # A fix far off its course: the manoeuvring model, which allowed for it, gains.
    turned = imm.Fix(np.array([[40.0, 150.0]]), np.array([400.0]), None, 1.0)
    after = imm.step(models, dt, lag, q, turned)
    assert after.probs[0, imm.MANOEUVRING] > imm.PRIOR[imm.MANOEUVRING]
    assert np.all(after.probs >= imm.FLOOR)


def test_with_no_time_between_no_model_gives_way_to_the_other() -> None:
    probs = np.array([[0.9, 0.1]])
    ahead, weights = imm._mixing(probs, np.array([0.0]))
    assert ahead == pytest.approx(probs)
    assert weights[0] == pytest.approx(np.eye(2))


def test_over_a_long_silence_the_models_return_to_their_prior_shares() -> None:
    ahead, _ = imm._mixing(np.array([[0.0, 1.0]]), np.array([1e6]))
    assert ahead[0] == pytest.approx(imm.PRIOR, abs=1e-6)


def test_the_gate_is_the_manoeuvring_model_s_widened_by_its_distance() -> None:
    models = _models((0.9, 0.1))
    velocity = np.array([[8.0, 0.0]])
    cov = imm.gating_covariance(models.means, models.covs, velocity)
    assert cov[0, 0, 0] == pytest.approx(900.0 + 30.0**2)
    assert cov[0, 2, 2] == pytest.approx(9.0 + 2.0**2)
    assert cov[0, 0, 0] > models.covs[0, imm.STEADY, 0, 0]
