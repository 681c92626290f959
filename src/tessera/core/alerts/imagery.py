"""Whether an image's footprint meets an area, for new-imagery rules: pure.

The footprint is an area overlay (its ring); the area is an area, a circle or a corridor
overlay. They meet when a corner of either lies in the other (a circle's centre, a
corridor's line, within its reach of the footprint) or their edges cross (straight in
degrees, as the overlays are drawn).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from tessera.core.alerts.geometry import AREA_OVERLAYS, signed_distance_m
from tessera.core.overlays import Overlay, OverlayKind

Point = tuple[float, float]


def footprint_meets(footprint: Overlay, area: Overlay | None) -> bool:
    """Whether ``footprint`` meets ``area`` (no area: anywhere does)."""
    if area is None:
        return True
    if area.kind not in AREA_OVERLAYS or footprint.kind is not OverlayKind.AREA:
        return False
    corners = [(c[0], c[1]) for c in footprint.coordinates]
    for lon, lat in corners:
        outside = signed_distance_m(area, lat, lon)
        if outside is not None and outside <= 0.0:
            return True
    reach = 0.0
    if area.kind is OverlayKind.CIRCLE:
        reach = area.radius_m or 0.0
    elif area.kind is OverlayKind.CORRIDOR:
        reach = (area.width_m or 0.0) / 2
    for point in area.coordinates:
        outside = signed_distance_m(footprint, point[1], point[0])
        if outside is not None and outside <= reach:
            return True
    if area.kind is not OverlayKind.AREA:
        return False
    edges = [(c[0], c[1]) for c in area.coordinates]
    return _edges_cross(corners, edges)


def _edges_cross(ring: Sequence[Point], other: Sequence[Point]) -> bool:
    return any(
        _segments_cross(a, b, c, d)
        for a, b in itertools.pairwise(ring)
        for c, d in itertools.pairwise(other)
    )


def _segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    def side(p: Point, q: Point, r: Point) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    d1, d2 = side(c, d, a), side(c, d, b)
    d3, d4 = side(a, b, c), side(a, b, d)
    return ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0))
