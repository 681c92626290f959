"""The compiled gates (gate_kernel) against gating's NumPy gates: the same pairs, the
same distances and costs to rounding, for fresh and late reports."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.core.fusion import compiled
from tessera.core.fusion.arrays import (
    CONFIRMED,
    DEAD,
    HISTORY_SAMPLES,
    HISTORY_STEP_S,
    PINNED_FRIENDLY,
    PINNED_HOSTILE,
    UNPINNED,
    TrackArrays,
)
from tessera.core.fusion.association import GatedPairs
from tessera.core.fusion.gating import Detection, Detections, gate, gate_late, gate_one
from tessera.core.fusion.geo import EARTH_RADIUS_M
from tessera.core.fusion.identity_gate import statement_of
from tessera.core.fusion.imm import MANOEUVRING
from tessera.core.fusion.motion import MOTION_CLASSES, ProfileTable
from tessera.core.model import Identity
from tests.core.fusion_support import report as report_at
from tests.core.fusion_support import require_kernels
from tests.core.test_step_kernel import _covariance

NOW = 1_800_000_000.0


@pytest.fixture(autouse=True)
def _built() -> None:
    require_kernels()


def _picture(seed: int, tracks: int) -> TrackArrays:
    """``tracks`` tracks within a few km of each other (some pinned to a side), each with
    a history of up to an hour."""
    rng = np.random.default_rng(seed)
    arrays = TrackArrays()
    for _ in range(tracks):
        row = arrays.allocate()
        arrays.status[row] = CONFIRMED
        arrays.lat[row] = 50.0 + rng.normal() * 0.03
        arrays.lon[row] = 30.0 + rng.normal() * 0.05
        arrays.vel[row] = rng.normal(size=2) * 8.0
        arrays.cov[row] = _covariance(rng, rng.uniform(20.0, 3_000.0))
        arrays.t[row] = NOW - rng.uniform(0.0, 120.0)
        arrays.model_means[row] = rng.normal(size=(2, 4)) * np.array([20.0, 20.0, 2.0, 2.0])
        arrays.model_covs[row] = np.stack([_covariance(rng, 30.0), _covariance(rng, 500.0)])
        arrays.motion[row] = rng.integers(0, len(MOTION_CLASSES))
        arrays.side[row] = rng.choice([-1, -1, PINNED_FRIENDLY, PINNED_HOSTILE])
        # An identity belief of any weight, now and then a declared one.
        arrays.belief[row] = rng.dirichlet(np.full(4, rng.choice([0.2, 1.0, 50.0])))
        arrays.declared[row] = rng.random() < 0.2
        for k in range(int(rng.integers(0, HISTORY_SAMPLES))):
            sample = HISTORY_SAMPLES - 1 - k
            arrays.history[row, sample] = (
                arrays.t[row] - HISTORY_STEP_S * (k + 1),
                arrays.lat[row] + rng.normal() * 0.01,
                arrays.lon[row] + rng.normal() * 0.01,
                rng.uniform(10.0, 5_000.0),
            )
    return arrays


def _detections(seed: int, reports: int, lag: float) -> Detections:
    """Reports around the tracks, a few of them stating nothing of identity."""
    rng = np.random.default_rng(seed + 1)
    identities = list(Identity)
    statements = [
        statement_of(
            report_at(
                at=0.0,
                identity=identities[int(rng.integers(len(identities)))],
                grading=f"{'ABCDEF'[int(rng.integers(6))]}{int(rng.integers(1, 7))}",
            )
        )
        for _ in range(reports)
    ]
    return Detections(
        lat=50.0 + rng.normal(size=reports) * 0.03,
        lon=30.0 + rng.normal(size=reports) * 0.05,
        t=NOW - lag - rng.uniform(0.0, 60.0, size=reports),
        variance=rng.uniform(5.0, 300.0, size=reports) ** 2,
        side=rng.integers(0, 2, size=reports).astype(np.int8),
        statement=np.array([statement.likelihood for statement in statements]),
        unbelieved=np.array([statement.unbelieved for statement in statements]),
    )


def _assert_alike(by_kernel: GatedPairs, by_numpy: GatedPairs) -> None:
    assert by_kernel.report.tolist() == by_numpy.report.tolist()
    assert by_kernel.row.tolist() == by_numpy.row.tolist()
    assert by_kernel.distance2 == pytest.approx(by_numpy.distance2, rel=1e-9, abs=1e-9)
    assert by_kernel.cost == pytest.approx(by_numpy.cost, rel=1e-9, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    tracks=st.integers(1, 60),
    reports=st.integers(1, 20),
    lag=st.sampled_from([0.0, 300.0, 3_000.0]),
)
def test_the_compiled_gates_find_what_numpys_find(
    seed: int, tracks: int, reports: int, lag: float
) -> None:
    arrays = _picture(seed, tracks)
    rows = arrays.live_rows()
    q = ProfileTable().q
    detections = _detections(seed, reports, lag)

    def both(late: bool) -> tuple[GatedPairs, GatedPairs]:
        results = []
        for built in (True, False):
            compiled.COMPILED = built
            try:
                if late:
                    results.append(gate_late(arrays, rows, q, 30.0, detections, NOW))
                else:
                    results.append(gate(arrays, rows, q, detections, NOW, 2_000.0))
            finally:
                compiled.COMPILED = True
        return results[0], results[1]

    for late in (False, True):
        by_kernel, by_numpy = both(late)
        _assert_alike(by_kernel, by_numpy)


@pytest.mark.parametrize("lag", [0.0, 300.0, 3_000.0])
@pytest.mark.parametrize("reports", [3, 20])
def test_the_compiled_gates_pass_many_pairs_alike(reports: int, lag: float) -> None:
    arrays = _picture(1, 40)
    rows = arrays.live_rows()
    q = ProfileTable().q
    detections = _detections(1, reports, lag)
    by_kernel = gate(arrays, rows, q, detections, NOW, 2_000.0)
    late_by_kernel = gate_late(arrays, rows, q, 30.0, detections, NOW)
    compiled.COMPILED = False
    try:
        by_numpy = gate(arrays, rows, q, detections, NOW, 2_000.0)
        late_by_numpy = gate_late(arrays, rows, q, 30.0, detections, NOW)
    finally:
        compiled.COMPILED = True
    assert by_kernel.report.size >= 8
    if lag:
        assert late_by_kernel.report.size >= 1
    _assert_alike(by_kernel, by_numpy)
    _assert_alike(late_by_kernel, late_by_numpy)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    tracks=st.integers(0, 60),
    lag=st.sampled_from([0.0, 300.0, 3_000.0]),
)
def test_one_report_is_gated_alike_compiled_or_not(seed: int, tracks: int, lag: float) -> None:
    _gate_one_alike(seed, tracks, lag)


@pytest.mark.parametrize("lag", [0.0, 300.0])
def test_one_report_finds_its_tracks_in_order_of_cost(lag: float) -> None:
    assert len(_gate_one_alike(2, 40, lag)) >= 2


def _gate_one_alike(seed: int, tracks: int, lag: float) -> list[int]:
    """``gate_one``, compiled and not, for one report (fresh, then late) against a
    picture with some tracks dead and some rows given back: the same rows, in the same
    order (the kernel finds the live rows itself). Answers the rows found fresh."""
    arrays = _picture(seed, tracks)
    rng = np.random.default_rng(seed + 2)
    for row in range(tracks):
        if rng.random() < 0.15:
            arrays.status[row] = DEAD
        elif rng.random() < 0.15:
            arrays.release(row)
    profiles = ProfileTable()
    detections = _detections(seed, 1, lag)
    detection = Detection(
        detections.lat.item(),
        detections.lon.item(),
        detections.t.item(),
        detections.variance.item(),
        detections.side.item(),
        tuple(detections.statement[0].tolist()),
        detections.unbelieved.item(),
    )
    fresh: list[int] = []
    for late in (False, True):
        found = []
        for built in (True, False):
            compiled.COMPILED = built
            try:
                found.append(gate_one(arrays, profiles, detection, NOW, 2_000.0, late=late))
            finally:
                compiled.COMPILED = True
        assert found[0] == found[1]
        assert set(found[0]) <= set(arrays.live_rows().tolist())
        if not late:
            fresh = found[0]
    return fresh


def test_the_kernels_constants_are_the_python_modules_own() -> None:
    assert compiled.gate_kernel.constants() == (EARTH_RADIUS_M, MANOEUVRING, UNPINNED)
