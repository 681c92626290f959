"""Associator: which gated report goes to which track.

The gate graph (reports and tracks, an edge for each pair inside the gate) is cut into
connected components. A lone report-track pair is taken directly; any larger cluster is
solved by optimal assignment (Jonker-Volgenant, by the lap package). A track may take one report
from each scan in a micro-batch (a source's reports observed at one time), never two from
the same scan, so each cluster is solved once per scan: reports of different scans never
compete for the same slot.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]

# Cost standing for "not in the gate" inside a cluster's assignment matrix.
_OUTSIDE: Final = 1e9
# Below this many pairs a plain union-find costs less than building a sparse graph (and
# importing SciPy's sparse modules, a fifth of a second, for it).
_SMALL: Final = 4096


class GatedPairs(NamedTuple):
    """Report-track pairs inside the gate, with their association cost and their squared
    Mahalanobis distance (what the gate tests)."""

    report: IntArray
    row: IntArray
    cost: FloatArray
    distance2: FloatArray


def assign(pairs: GatedPairs, scans: Sequence[Hashable], reports: int) -> list[tuple[int, int]]:
    """(report index, track row) assignments, in report order."""
    if pairs.report.size == 0:
        return []
    if reports == 1:
        # One report (a micro-batch of one commit): its cheapest track, the lowest row
        # among equals, as the assignment of a one-row cluster would choose it.
        best = np.flatnonzero(pairs.cost == pairs.cost.min())
        return [(0, int(pairs.row[best].min()))]
    rows, track_node = np.unique(pairs.row, return_inverse=True)
    nodes = reports + rows.size
    if pairs.report.size <= _SMALL:
        component = _components_small(pairs.report, reports + track_node, nodes)
    else:
        # SciPy is imported where it is needed (a one-report batch never needs it).
        from scipy.sparse import coo_array
        from scipy.sparse.csgraph import connected_components

        graph = coo_array(
            (np.ones(pairs.report.size), (pairs.report, reports + track_node)),
            shape=(nodes, nodes),
        )
        _, component = connected_components(graph, directed=False)
    pair_component = component[pairs.report]
    reports_in = np.bincount(component[:reports], minlength=component.max() + 1)
    tracks_in = np.bincount(component[reports:], minlength=component.max() + 1)
    lone = (reports_in[pair_component] == 1) & (tracks_in[pair_component] == 1)
    chosen = list(zip(pairs.report[lone].tolist(), pairs.row[lone].tolist(), strict=True))
    rest = np.flatnonzero(~lone)
    if rest.size:
        order = rest[np.argsort(pair_component[rest], kind="stable")]
        bounds = np.flatnonzero(np.diff(pair_component[order])) + 1
        for cluster in np.split(order, bounds):
            chosen.extend(_solve_cluster(pairs, cluster, scans))
    chosen.sort()
    return chosen


def _solve_cluster(
    pairs: GatedPairs, cluster: IntArray, scans: Sequence[Hashable]
) -> list[tuple[int, int]]:
    # (lap's solver loads in a millisecond where SciPy's optimize takes a third of a
    # second, and `tessera fuse` meets a cluster or two in a whole file.)
    import lap

    by_scan: dict[Hashable, list[int]] = {}
    for index in cluster.tolist():
        by_scan.setdefault(scans[int(pairs.report[index])], []).append(index)
    chosen: list[tuple[int, int]] = []
    for members in by_scan.values():
        subset = np.array(members, dtype=np.intp)
        report_ids, report_pos = np.unique(pairs.report[subset], return_inverse=True)
        row_ids, row_pos = np.unique(pairs.row[subset], return_inverse=True)
        cost = np.full((report_ids.size, row_ids.size), _OUTSIDE)
        cost[report_pos, row_pos] = pairs.cost[subset]
        _, picked_rows, _ = lap.lapjv(cost, extend_cost=True)
        for r, c in enumerate(picked_rows.tolist()):
            if c >= 0 and cost[r, c] < _OUTSIDE:
                chosen.append((int(report_ids[r]), int(row_ids[c])))
    return chosen


def _components_small(left: IntArray, right: IntArray, nodes: int) -> IntArray:
    """Connected component of each node, by union-find (for a few pairs at most)."""
    parent = list(range(nodes))

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(node) for node in range(nodes)], dtype=np.intp)
