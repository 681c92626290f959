"""One track's step in plain floats (imm_one, update_one) against the vectorised step."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.core.fusion import imm, imm_one
from tessera.core.fusion.update_one import step_one
from tessera.core.model import Report, Velocity
from tests.core.fusion_support import T0, report, tracker

finite = st.floats(-50.0, 50.0, allow_nan=False)


def _covariance(seed: int, scale: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    root = rng.normal(size=(4, 4)) * np.array([scale, scale, 1.0, 1.0])[:, None]
    return np.asarray(root @ root.T + np.diag([scale, scale, 0.5, 0.5]))


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    steady=st.floats(imm.FLOOR, 1.0 - imm.FLOOR),
    dt=st.floats(0.0, 600.0),
    lag=st.floats(0.0, 300.0),
    q=st.floats(0.01, 25.0),
    fix=st.tuples(finite, finite),
    variance=st.floats(1.0, 1e5),
    velocity=st.none() | st.tuples(finite, finite),
)
def test_one_track_steps_as_the_vectorised_models_do(
    seed: int,
    steady: float,
    dt: float,
    lag: float,
    q: float,
    fix: tuple[float, float],
    variance: float,
    velocity: tuple[float, float] | None,
) -> None:
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(2, 4)) * np.array([100.0, 100.0, 5.0, 5.0])
    covs = np.stack([_covariance(seed, 30.0), _covariance(seed + 1, 300.0)])
    probs = np.array([steady, 1.0 - steady])
    stated = None if velocity is None else np.array([velocity])
    lag = 0.0 if velocity is not None else lag  # (a stated velocity is taken only at once)
    vector = imm.step(
        imm.Models(means[None], covs[None], probs[None]),
        np.array([dt]),
        np.array([lag]),
        np.array([q]),
        imm.Fix(np.array([fix]), np.array([variance]), stated, 4.0),
    )
    floats = imm_one.step(
        imm_one.OneTrack(means.tolist(), covs.tolist(), probs.tolist()),
        dt,
        lag,
        q,
        imm_one.OneFix(*fix, variance, velocity, 4.0),
    )
    assert np.array(floats.means) == pytest.approx(vector.means[0], rel=1e-7, abs=1e-6)
    for model in range(2):
        _assert_same_covariance(floats.covs[model], vector.covs[0, model])
    assert np.array(floats.probs) == pytest.approx(vector.probs[0], rel=1e-7, abs=1e-9)
    mean, cov = imm_one.combined(floats)
    vector_mean, vector_cov = imm.combined(vector)
    assert np.array(mean) == pytest.approx(vector_mean[0], rel=1e-7, abs=1e-6)
    _assert_same_covariance(cov, vector_cov[0])


def _assert_same_covariance(floats: list[list[float]], vector: np.ndarray) -> None:
    """Alike to rounding: a matrix's rounding error scales with its largest entry, so a
    small entry (a velocity variance of 1 m²/s² beside a position variance of 10⁹ m² after
    ten silent minutes) is held to a share of that entry, not only to its own size."""
    scale = float(np.abs(vector).max())
    assert np.array(floats) == pytest.approx(vector, rel=1e-7, abs=1e-6 + 1e-12 * scale)


def _report(lat: float, lon: float, at: float, *, velocity: Velocity | None = None) -> Report:
    return report(at=at, lat=lat, lon=lon, received_after=0.0, velocity=velocity)


@pytest.mark.parametrize("late", [0.0, 40.0])
@pytest.mark.parametrize("velocity", [None, Velocity(course=80.0, speed=9.0)])
def test_a_track_stepped_alone_is_stepped_as_one_of_several(
    late: float, velocity: Velocity | None
) -> None:
    # Two tracks built alike; one is stepped alone, the other in a round of several (one
    # call for the round where the step is compiled).
    engine = tracker()
    for k in range(4):
        engine.step(
            T0 + timedelta(seconds=10 * k + 1),
            [
                _report(lat + 0.0007 * k, lon + 0.001 * k, 10 * k)
                for lat, lon in [
                    (53.0, 17.0),
                    (53.3, 17.4),
                    (52.7, 16.6),
                    (53.1, 16.0),
                    (52.6, 17.5),
                ]
            ],
        )
    table = engine.table
    arrays = table.kinematics()
    rows = sorted(record.row for record in table.records.values())
    assert len(rows) == 5
    for name in ("lat", "lon", "vel", "cov", "t", "model_means", "model_covs", "model_probs"):
        column = getattr(arrays, name)
        column[rows[1]] = column[rows[0]]
    at = T0.timestamp() + 60.0
    fix = _report(53.0041, 17.0062, 60.0 - late, velocity=velocity if not late else None)
    motion = int(arrays.motion[rows[0]])
    assert step_one(
        arrays,
        table.profiles,
        engine.settings.velocity_sd,
        rows[0],
        at - late,
        fix,
        keyed=False,
        motion=motion,
    )
    round_ = engine._batch._update  # the engine's own updater
    others = [
        _report(lat, lon, 60.0 - late) for lat, lon in [(52.7, 16.6), (53.1, 16.0), (52.6, 17.5)]
    ]
    round_._step(np.array(rows[1:]), np.full(4, at - late), [fix, *others], keyed=False)
    for name in ("lat", "lon", "vel", "cov", "t", "model_means", "model_covs", "model_probs"):
        column = getattr(arrays, name)
        assert np.array_equal(column[rows[0]], column[rows[1]]), name


def test_a_keyed_report_far_outside_the_gate_changes_nothing_and_says_so() -> None:
    engine = tracker()
    for k in range(3):
        engine.step(T0 + timedelta(seconds=10 * k + 1), [_report(53.0, 17.0 + 0.001 * k, 10 * k)])
    table = engine.table
    arrays = table.kinematics()
    (record,) = table.records.values()
    before = arrays.model_covs[record.row].copy(), float(arrays.lat[record.row])

    def stepped(fix: Report) -> bool:
        at = T0.timestamp() + 30
        velocity_sd = engine.settings.velocity_sd
        motion = int(arrays.motion[record.row])
        return step_one(
            arrays, table.profiles, velocity_sd, record.row, at, fix, keyed=True, motion=motion
        )

    assert not stepped(_report(53.2, 17.0, 30.0))
    assert arrays.model_covs[record.row] == pytest.approx(before[0])
    assert float(arrays.lat[record.row]) == before[1]
    assert stepped(_report(53.0, 17.0031, 30.0))
