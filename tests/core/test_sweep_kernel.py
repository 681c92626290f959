"""The compiled sweep (sweep_kernel) against the sweep's NumPy tests: the same flags for
every track, whatever its state, and the kernel's flags named as lifecycle names them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.core.fusion import compiled, lifecycle
from tessera.core.fusion.arrays import HISTORY_STEP_S, STATUS_CODES
from tessera.core.fusion.motion import MOTION_CLASSES
from tests.core.fusion_support import require_kernels, tracker
from tests.core.test_step_kernel import _covariance

NOW = 1_800_000_000.0
TRACKS = 40


@pytest.fixture(autouse=True)
def _built() -> None:
    require_kernels()


def test_the_kernel_names_its_flags_as_the_lifecycle_does() -> None:
    for name in ("DIES", "COASTS", "STALES", "REGROWS", "GONE", "SAMPLES", "HOLD_ENDED"):
        assert getattr(compiled.sweep_kernel, name) == getattr(lifecycle, name), name


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 100_000), spread=st.sampled_from([10.0, 300.0, 3_000.0]))
def test_the_compiled_sweep_flags_what_numpys_flags(seed: int, spread: float) -> None:
    rng = np.random.default_rng(seed)
    engine = tracker()
    arrays = engine.table.arrays
    rows = np.array([arrays.allocate() for _ in range(TRACKS)], dtype=np.intp)
    for row in rows.tolist():
        arrays.status[row] = rng.integers(0, len(STATUS_CODES))
        arrays.motion[row] = rng.integers(0, len(MOTION_CLASSES))
        arrays.t[row] = NOW - rng.choice([0.0, 5.0, 60.0, 600.0, 4_000.0]) * rng.uniform()
        arrays.seen[row] = arrays.t[row] - rng.uniform(0.0, 100.0) * rng.integers(0, 2)
        arrays.shown_at[row] = arrays.t[row] + rng.choice([0.0, 10.0, 40.0])
        arrays.dead_since[row] = NOW - rng.uniform(0.0, 1_000.0)
        arrays.held_until[row] = rng.choice([math.nan, NOW - 5.0, NOW, NOW + 100.0])
        arrays.cov[row] = _covariance(rng, spread)
        arrays.model_probs[row] = (steady := rng.uniform(), 1.0 - steady)
        arrays.vel[row] = rng.normal(size=2) * rng.choice([0.1, 5.0])
        if rng.integers(0, 2):
            arrays.history[row, -1, 0] = arrays.t[row] - rng.uniform(0.0, 2 * HISTORY_STEP_S)
    sweeping = engine._lifecycle
    by_kernel = sweeping._sweep_flags_compiled(rows, NOW)
    by_numpy = sweeping._sweep_flags(rows, NOW)
    assert by_kernel.tolist() == by_numpy.tolist()
    assert by_kernel.any()
