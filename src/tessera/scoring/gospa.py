"""GOSPA, the generalised optimal sub-pattern assignment metric.

Rahmathullah, García-Fernández and Svensson, "Generalized optimal sub-pattern assignment
metric", FUSION 2017. With alpha = 2 the metric splits into a localisation part over the
assigned pairs plus a cost of c^p / 2 for every missed truth and every false track, and the
optimal assignment is the one minimising the sum of min(d, c)^p; this module uses that form.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
DEFAULT_CUTOFF_M = 500.0  # c
DEFAULT_ORDER = 2.0  # p
DEFAULT_ALPHA = 2.0

LatLon = tuple[float, float]  # (lat, lon) in degrees


class MatchedPair(msgspec.Struct, frozen=True):
    """A truth and the track assigned to it, closer than the cut-off."""

    truth: int  # index into the truths given
    track: int  # index into the tracks given
    distance_m: float


class GospaResult(msgspec.Struct, frozen=True):
    """GOSPA and its parts; ``gospa ** p == localisation + missed_part + false_part``."""

    gospa: float  # metres
    localisation: float  # sum of d^p over the assigned pairs (m^p, so m² for p = 2)
    missed: int  # truths without a track
    false: int  # tracks without a truth
    missed_part: float  # c^p / alpha * missed
    false_part: float  # c^p / alpha * false
    assignment: tuple[MatchedPair, ...]


def distance_matrix_m(truths: Sequence[LatLon], tracks: Sequence[LatLon]) -> NDArray[np.float64]:
    """Great-circle (haversine) distances in metres, one row per truth, one column per track."""
    lat_a, lon_a = _radians(truths)
    lat_b, lon_b = _radians(tracks)
    lat_1, lat_2 = lat_a[:, None], lat_b[None, :]
    half_dlat = (lat_2 - lat_1) / 2.0
    half_dlon = (lon_b[None, :] - lon_a[:, None]) / 2.0
    h = np.sin(half_dlat) ** 2 + np.cos(lat_1) * np.cos(lat_2) * np.sin(half_dlon) ** 2
    # Rounding can push h a hair past 1 for antipodal points; arcsin would then give NaN.
    distances: NDArray[np.float64] = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    return distances


def haversine_m(a: LatLon, b: LatLon) -> float:
    """Great-circle distance in metres between two (lat, lon) points."""
    return float(distance_matrix_m([a], [b])[0, 0])


def gospa(
    truths: Sequence[LatLon],
    tracks: Sequence[LatLon],
    *,
    cutoff_m: float = DEFAULT_CUTOFF_M,
    order: float = DEFAULT_ORDER,
    alpha: float = DEFAULT_ALPHA,
) -> GospaResult:
    """GOSPA between truth positions and track positions.

    ``cutoff_m`` is the paper's c, ``order`` its p. A pair the optimal assignment makes at
    a distance of c or more is not kept: it counts as one missed truth plus one false track,
    which for alpha = 2 costs the same c^p. The split into parts is exact for alpha = 2
    (the default, and the paper's choice); other alphas only re-weight the miss and false
    costs of that split.
    """
    if not cutoff_m > 0:
        raise ValueError("cutoff_m must be greater than zero")
    if not order >= 1:
        raise ValueError("order must be at least 1")
    if not 0 < alpha <= 2:
        raise ValueError("alpha must be in (0, 2]")
    pairs: list[MatchedPair] = []
    localisation = 0.0
    if truths and tracks:
        distances = distance_matrix_m(truths, tracks)
        costs = np.minimum(distances, cutoff_m) ** order
        rows, columns = linear_sum_assignment(costs)
        for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
            distance = float(distances[row, column])
            if distance < cutoff_m:
                pairs.append(MatchedPair(truth=row, track=column, distance_m=distance))
                localisation += distance**order
    missed = len(truths) - len(pairs)
    false = len(tracks) - len(pairs)
    unit = cutoff_m**order / alpha
    missed_part = unit * missed
    false_part = unit * false
    total = (localisation + missed_part + false_part) ** (1.0 / order)
    return GospaResult(
        gospa=total,
        localisation=localisation,
        missed=missed,
        false=false,
        missed_part=missed_part,
        false_part=false_part,
        assignment=tuple(pairs),
    )


def _radians(points: Sequence[LatLon]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    array = np.radians(np.asarray(points, dtype=np.float64).reshape(-1, 2))
    return array[:, 0], array[:, 1]
