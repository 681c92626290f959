"""The compiled step (step_kernel) against the same step in Python (update_one): to the
bit, one track at a time, many at once, and over a whole scenario's picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.batchfuse.run import fuse_file
from tessera.core.fusion import compiled, update_one
from tessera.core.fusion.arrays import TrackArrays
from tessera.core.fusion.motion import MOTION_CLASSES, ProfileTable
from tessera.core.model import Velocity
from tessera.sim.files import write_scenario
from tessera.sim.scenario import ScenarioConfig, build
from tests.core.fusion_support import T0, report, require_kernels

COLUMNS = ("lat", "lon", "vel", "cov", "t", "model_means", "model_covs", "model_probs")
ROWS = 5


@pytest.fixture(autouse=True)
def _built() -> None:
    require_kernels()


def _covariance(rng: np.random.Generator, scale: float) -> np.ndarray:
    root = rng.normal(size=(4, 4)) * np.array([scale, scale, 1.0, 1.0])[:, None]
    return np.asarray(root @ root.T + np.diag([scale, scale, 0.5, 0.5]))


def _arrays(seed: int) -> TrackArrays:
    """ROWS tracks in random (valid) states, one of them near the antimeridian."""
    rng = np.random.default_rng(seed)
    arrays = TrackArrays()
    for row in range(ROWS):
        arrays.lat[row] = rng.uniform(-70.0, 70.0)
        arrays.lon[row] = 179.99 if row == 0 else rng.uniform(-180.0, 180.0)
        arrays.vel[row] = rng.normal(size=2) * 20.0
        arrays.cov[row] = _covariance(rng, 200.0)
        arrays.t[row] = T0.timestamp() + rng.uniform(0.0, 60.0)
        arrays.model_means[row] = rng.normal(size=(2, 4)) * np.array([50.0, 50.0, 3.0, 3.0])
        arrays.model_covs[row] = np.stack([_covariance(rng, 30.0), _covariance(rng, 300.0)])
        steady = rng.uniform(0.01, 0.99)
        arrays.model_probs[row] = (steady, 1.0 - steady)
    return arrays


def _copy(arrays: TrackArrays) -> TrackArrays:
    twin = TrackArrays()
    for name in COLUMNS:
        setattr(twin, name, getattr(arrays, name).copy())
    return twin


def _assert_same_bits(left: TrackArrays, right: TrackArrays) -> None:
    for name in COLUMNS:
        assert np.array_equal(getattr(left, name), getattr(right, name), equal_nan=True), name


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    offsets=st.lists(st.tuples(st.floats(-0.05, 0.05), st.floats(-0.05, 0.05)), min_size=ROWS),
    dt=st.floats(0.0, 900.0),
    lag=st.sampled_from([0.0, 0.0, 5.0, 40.0, 120.0]),
    ce=st.floats(1.0, 3_000.0),
    keyed=st.lists(st.booleans(), min_size=ROWS, max_size=ROWS),
    velocity=st.none() | st.tuples(st.floats(0.0, 359.9), st.floats(0.0, 80.0)),
    motion=st.integers(0, len(MOTION_CLASSES) - 1),
)
def test_the_compiled_step_is_the_python_step_to_the_bit(
    seed: int,
    offsets: list[tuple[float, float]],
    dt: float,
    lag: float,
    ce: float,
    keyed: list[bool],
    velocity: tuple[float, float] | None,
    motion: int,
) -> None:
    start = _arrays(seed)
    profiles = ProfileTable()
    stated = None if velocity is None else Velocity(course=velocity[0], speed=velocity[1])
    fixes, observed = [], []
    for row in range(ROWS):
        at = float(start.t[row]) + dt - lag
        fixes.append(
            report(
                at=at - T0.timestamp(),
                lat=float(start.lat[row]) + offsets[row][0],
                lon=(float(start.lon[row]) + offsets[row][1] + 180.0) % 360.0 - 180.0,
                ce=ce,
                velocity=stated,
            )
        )
        observed.append(at)
    python, one_call, many = _copy(start), _copy(start), _copy(start)
    compiled.COMPILED = False
    try:
        expected = [
            update_one.step_floats(
                python,
                profiles,
                3.0,
                row,
                observed[row],
                fixes[row],
                keyed=keyed[row],
                motion=motion,
            )
            for row in range(ROWS)
        ]
    finally:
        compiled.COMPILED = True
    by_kernel = [
        update_one.step_one(
            one_call, profiles, 3.0, row, observed[row], fixes[row], keyed=keyed[row], motion=motion
        )
        for row in range(ROWS)
    ]
    refused = update_one.step_rows(
        many,
        profiles,
        3.0,
        np.arange(ROWS, dtype=np.intp),
        np.array(observed),
        fixes,
        np.array(keyed),
        np.full(ROWS, motion, dtype=np.int8),
    )
    assert by_kernel == expected
    assert refused == [row for row in range(ROWS) if not expected[row]]
    _assert_same_bits(python, one_call)
    _assert_same_bits(python, many)


def test_a_scenarios_picture_is_the_same_whether_the_step_is_compiled_or_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_scenario(build("exercise", ScenarioConfig(seed=7, rate=10.0)), tmp_path, 240.0)
    reports = tmp_path / "reports.jsonl"
    fuse_file(reports, tmp_path / "compiled.jsonl", 10.0)
    monkeypatch.setattr(compiled, "COMPILED", False)
    fuse_file(reports, tmp_path / "python.jsonl", 10.0)
    picture = (tmp_path / "compiled.jsonl").read_bytes()
    assert picture.count(b"\n") > 20
    assert picture == (tmp_path / "python.jsonl").read_bytes()
