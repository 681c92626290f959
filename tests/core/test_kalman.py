"""The filter and the associator against numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tessera.core.fusion.association import GatedPairs, assign
from tessera.core.fusion.kalman import (
    mahalanobis2,
    position_covariance,
    predict_covariance,
    process_noise,
    transition,
    update,
    update_late,
)


def test_a_position_update_weighs_track_and_report_by_their_variances() -> None:
    cov = np.diag([100.0, 100.0, 4.0, 4.0])[None]
    # Track variance 100, report variance 25: gain 100 / 125 = 0.8 on position, none on
    # velocity (no cross-covariance yet), and the position variance falls to 20.
    correction, updated = update(cov, np.array([[10.0, 0.0]]), np.diag([25.0, 25.0])[None])
    assert correction[0] == pytest.approx([8.0, 0.0, 0.0, 0.0])
    assert np.diag(updated[0]) == pytest.approx([20.0, 20.0, 4.0, 4.0])


def test_prediction_grows_covariance_by_motion_and_white_acceleration() -> None:
    cov = np.diag([20.0, 20.0, 4.0, 4.0])[None]
    dt, q = np.array([2.0]), np.array([1.0])
    predicted = predict_covariance(cov, dt, q)[0]
    # P_pp = 20 + dt^2 * 4 + q dt^3 / 3; P_pv = dt * 4 + q dt^2 / 2; P_vv = 4 + q dt.
    assert predicted[0, 0] == pytest.approx(20 + 16 + 8 / 3)
    assert predicted[0, 2] == pytest.approx(8 + 2)
    assert predicted[2, 2] == pytest.approx(6)
    assert predicted[0, 1] == pytest.approx(0)
    assert position_covariance(cov, dt, q)[0] == pytest.approx(predicted[:2, :2])


def test_velocity_is_learnt_through_the_cross_covariance() -> None:
    cov = predict_covariance(
        np.diag([20.0, 20.0, 4.0, 4.0])[None], np.array([2.0]), np.array([1.0])
    )
    correction, _ = update(cov, np.array([[5.0, 0.0]]), np.diag([10.0, 10.0])[None])
    spread = cov[0, 0, 0] + 10.0
    assert correction[0, 0] == pytest.approx(cov[0, 0, 0] / spread * 5.0)
    assert correction[0, 2] == pytest.approx(cov[0, 2, 0] / spread * 5.0)


def test_a_velocity_measurement_updates_the_velocity_directly() -> None:
    cov = np.diag([100.0, 100.0, 9.0, 9.0])[None]
    innovation = np.array([[0.0, 0.0, 3.0, 0.0]])
    noise = np.diag([25.0, 25.0, 1.0, 1.0])[None]
    correction, updated = update(cov, innovation, noise)
    assert correction[0, 2] == pytest.approx(9.0 / 10.0 * 3.0)
    assert updated[0, 2, 2] == pytest.approx(0.9)


def _track_moving_east() -> np.ndarray:
    """A covariance with position and velocity correlated, as after a few updates."""
    return np.array(
        [
            [400.0, 30.0, 60.0, 5.0],
            [30.0, 300.0, 4.0, 40.0],
            [60.0, 4.0, 16.0, 1.0],
            [5.0, 40.0, 1.0, 9.0],
        ]
    )[None]


def test_a_late_fix_with_no_lag_is_an_ordinary_update() -> None:
    cov = _track_moving_east()
    innovation, noise = np.array([[12.0, -7.0]]), np.diag([50.0, 80.0])[None]
    late = update_late(cov, innovation, noise, np.array([0.0]))
    now = update(cov, innovation, noise)
    assert late[0] == pytest.approx(now[0])
    assert late[1] == pytest.approx(now[1])


def test_a_late_fix_is_conditioned_on_the_state_carried_back_to_its_time() -> None:
    """Against the joint Gaussian written out: z = H F x + v with F carrying the state
    back by the lag, so cov(x, z) = P F^T H^T and S = H F P F^T H^T + noise."""
    cov = _track_moving_east()
    lag = 90.0
    innovation, noise = np.array([[-250.0, 40.0]]), np.diag([900.0, 900.0])[None]
    back = transition(np.array([-lag]))[0]
    h = np.eye(4)[:2]
    cross = cov[0] @ back.T @ h.T
    spread = h @ back @ cov[0] @ back.T @ h.T + noise[0]
    gain = cross @ np.linalg.inv(spread)
    correction, updated = update_late(cov, innovation, noise, np.array([lag]))
    assert correction[0] == pytest.approx(gain @ innovation[0])
    assert updated[0] == pytest.approx(cov[0] - gain @ spread @ gain.T)
    assert np.all(np.linalg.eigvalsh(updated[0]) > 0)


def test_a_late_fix_behind_where_the_velocity_puts_it_slows_the_track() -> None:
    # The track says 4 m/s east; a fix 100 s old is 200 m east of where that speed puts the
    # thing then: it went slower. An ordinary update at the track's time would not say so.
    cov = np.diag([400.0, 400.0, 4.0, 4.0])[None]
    innovation, noise = np.array([[200.0, 0.0]]), np.diag([400.0, 400.0])[None]
    correction, _ = update_late(cov, innovation, noise, np.array([100.0]))
    assert correction[0, 2] < -0.5
    assert correction[0, 0] > 0.0
    assert update(cov, innovation, noise)[0][0, 2] == 0.0


def test_mahalanobis_distance_uses_the_whole_covariance() -> None:
    spread = np.array([[[4.0, 0.0], [0.0, 1.0]], [[2.0, 1.0], [1.0, 2.0]]])
    innovation = np.array([[2.0, 1.0], [1.0, -1.0]])
    # First: 4/4 + 1/1 = 2. Second: S^-1 = [[2, -1], [-1, 2]] / 3, so (2 + 2 + 2) / 3 = 2.
    assert mahalanobis2(innovation, spread) == pytest.approx([2.0, 2.0])


def pairs(items: list[tuple[int, int, float]]) -> GatedPairs:
    report, row, cost = zip(*items, strict=True)
    return GatedPairs(
        np.array(report, dtype=np.intp),
        np.array(row, dtype=np.intp),
        np.array(cost),
        np.array(cost),
    )


def test_a_cluster_is_solved_by_optimal_assignment_not_greedily() -> None:
    # Report 0 is nearest track 11, but giving it 11 leaves report 1 with nothing; the
    # optimum gives report 0 track 10 and report 1 track 11.
    gated = pairs([(0, 10, 3.0), (0, 11, 1.0), (1, 11, 1.5)])
    assert assign(gated, ["uav-1", "uav-1"], 2) == [(0, 10), (1, 11)]


def test_separate_components_are_solved_separately() -> None:
    gated = pairs([(0, 5, 1.0), (1, 7, 2.0), (2, 7, 1.0), (3, 9, 4.0)])
    assert assign(gated, ["a", "a", "a", "b"], 4) == [(0, 5), (2, 7), (3, 9)]


def test_a_track_takes_one_report_per_source_but_one_from_each_source() -> None:
    same = pairs([(0, 3, 1.0), (1, 3, 2.0)])
    assert assign(same, ["uav-1", "uav-1"], 2) == [(0, 3)]
    different = pairs([(0, 3, 1.0), (1, 3, 2.0)])
    assert assign(different, ["uav-1", "patrol-4"], 2) == [(0, 3), (1, 3)]


def test_the_written_out_prediction_is_f_p_f_transposed_plus_q() -> None:
    rng = np.random.default_rng(7)
    root = rng.normal(size=(6, 4, 4))
    cov = root @ root.transpose(0, 2, 1) + np.eye(4)
    dt = np.array([0.0, 1.0, -3.0, 12.5, 0.2, 600.0])
    q = np.array([0.01, 0.09, 2.25, 1.0, 25.0, 0.04])
    f = transition(dt)
    expected = f @ cov @ f.transpose(0, 2, 1) + process_noise(dt, q)
    np.testing.assert_allclose(predict_covariance(cov, dt, q), expected, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(
        position_covariance(cov, dt, q), expected[:, :2, :2], rtol=1e-12, atol=1e-9
    )
