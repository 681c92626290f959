"""Where fusion takes a shortcut for small micro-batches (every distance measured, a
union-find) and where it takes SciPy's structures for large ones, both give the same."""

from __future__ import annotations

import numpy as np
import pytest

from tessera.core.fusion import association, batch, gating
from tessera.core.fusion.association import GatedPairs
from tessera.core.fusion.motion import ProfileTable
from tests.core.test_gate_kernel import NOW, _assert_alike, _detections, _picture


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_neighbours_by_every_distance_are_the_k_d_trees(seed: int) -> None:
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(60, 3)) * 1_000.0
    radius = rng.uniform(100.0, 1_500.0, size=60)
    measured = batch._within(points, radius)
    from scipy.spatial import cKDTree

    by_tree = cKDTree(points).query_ball_point(points, radius)
    assert [sorted(near) for near in measured] == [sorted(near) for near in by_tree]
    assert sum(len(near) for near in measured) > 60


@pytest.mark.parametrize("seed", [1, 2])
def test_clusters_by_union_find_are_the_sparse_graphs(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(seed)
    reports, pairs = 40, 120
    gated = GatedPairs(
        rng.integers(0, reports, size=pairs).astype(np.intp),
        rng.integers(0, 60, size=pairs).astype(np.intp),
        rng.uniform(0.0, 9.0, size=pairs),
        rng.uniform(0.0, 9.0, size=pairs),
    )
    scans = [("uav-1", float(index % 3)) for index in range(reports)]
    by_union_find = association.assign(gated, scans, reports)
    monkeypatch.setattr(association, "_SMALL", 0)
    assert association.assign(gated, scans, reports) == by_union_find
    assert len(by_union_find) > 10


def _in_order(pairs: GatedPairs) -> GatedPairs:
    order = np.lexsort((pairs.row, pairs.report))
    return GatedPairs(
        pairs.report[order], pairs.row[order], pairs.cost[order], pairs.distance2[order]
    )


@pytest.mark.parametrize("late", [False, True])
def test_a_large_micro_batch_gated_by_the_tree_finds_what_every_distance_finds(
    late: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = _picture(5, 50)
    rows = arrays.live_rows()
    q = ProfileTable().q
    detections = _detections(5, 30, 300.0 if late else 0.0)

    def gated() -> GatedPairs:
        if late:
            return gating.gate_late(arrays, rows, q, 30.0, detections, NOW)
        return gating.gate(arrays, rows, q, detections, NOW, 2_000.0)

    measured = gated()
    monkeypatch.setattr(gating, "BRUTE_FORCE_PAIRS_COMPILED", 0)
    by_tree = gated()
    _assert_alike(_in_order(measured), _in_order(by_tree))
    assert measured.report.size > 10
