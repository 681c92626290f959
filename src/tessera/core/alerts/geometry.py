"""Distances for alert rules, in metres on a local flat projection around the track.

Areas are small next to the Earth (a sector, a box, a circle of some kilometres), so each
is measured on an equirectangular projection centred on the point asked about: good to a
fraction of a percent at such sizes, and it crosses the antimeridian without care (every
longitude difference is taken the short way round).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Final

from tessera.core.overlays import Overlay, OverlayKind

EARTH_RADIUS_M: Final = 6_371_008.8
AREA_OVERLAYS: Final = frozenset({OverlayKind.AREA, OverlayKind.CIRCLE, OverlayKind.CORRIDOR})
Flat = tuple[float, float]


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _flat(lat0: float, lon0: float, lon: float, lat: float) -> Flat:
    d_lon = (lon - lon0 + 180.0) % 360.0 - 180.0
    x = math.radians(d_lon) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    y = math.radians(lat - lat0) * EARTH_RADIUS_M
    return x, y


def _segment_distance(a: Flat, b: Flat) -> float:
    """Distance from the origin to the segment a-b."""
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0.0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    return math.hypot(ax + t * dx, ay + t * dy)


def _line_distance(points: Sequence[Flat]) -> float:
    if len(points) == 1:
        return math.hypot(*points[0])
    return min(_segment_distance(a, b) for a, b in itertools.pairwise(points))


def _contains_origin(ring: Sequence[Flat]) -> bool:
    """Even-odd ray cast from the origin along +x."""
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, [*ring[1:], ring[0]], strict=True):
        if (y1 > 0.0) != (y2 > 0.0):
            x = x1 + (0.0 - y1) * (x2 - x1) / (y2 - y1)
            if x > 0.0:
                inside = not inside
    return inside


def signed_distance_m(overlay: Overlay, lat: float, lon: float) -> float | None:
    """How far the point is outside the overlay's area (negative: inside, by that much
    from its edge); None for an overlay that is no area (a point, a line)."""
    if overlay.kind not in AREA_OVERLAYS:
        return None
    points = [_flat(lat, lon, c[0], c[1]) for c in overlay.coordinates]
    if overlay.kind is OverlayKind.CIRCLE:
        centre = overlay.coordinates[0]
        radius = overlay.radius_m or 0.0
        return distance_m(lat, lon, centre[1], centre[0]) - radius
    if overlay.kind is OverlayKind.CORRIDOR:
        return _line_distance(points) - (overlay.width_m or 0.0) / 2
    edge = _line_distance([*points, points[0]])
    return -edge if _contains_origin(points) else edge
