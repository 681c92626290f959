"""Approximations of NVG's curved shapes (ellipse, arc, arcband, rectangle) as vertices.

Tessera's overlays have no ellipse or arc, so these are drawn as polygons or lines of
great-circle offsets from their centre. Start and end angles are bearings: degrees
clockwise from north, as NVG gives them; ``rx`` lies east-west and ``ry`` north-south
before rotation, and a rotation turns the shape counter-clockwise (the NVG schema's
"rotation in the counter-clockwise direction around the center point"), so it is
subtracted from every bearing. Pure: no I/O.
"""

from __future__ import annotations

import math
from typing import Final

EARTH_RADIUS_M: Final = 6_371_008.8  # mean radius (IUGG)
STEPS_PER_TURN: Final = 72  # one vertex every 5 degrees

LonLat = tuple[float, float]


def destination(centre: LonLat, bearing_deg: float, distance_m: float) -> LonLat:
    """The point ``distance_m`` from ``centre`` along the great circle at ``bearing_deg``."""
    lon1, lat1 = math.radians(centre[0]), math.radians(centre[1])
    bearing, angle = math.radians(bearing_deg), distance_m / EARTH_RADIUS_M
    lat2 = math.asin(
        math.sin(lat1) * math.cos(angle) + math.cos(lat1) * math.sin(angle) * math.cos(bearing)
    )
    lon2 = lon1 + math.atan2(
        math.sin(bearing) * math.sin(angle) * math.cos(lat1),
        math.cos(angle) - math.sin(lat1) * math.sin(lat2),
    )
    # Fold the longitude back into [-180, 180].
    lon = (math.degrees(lon2) + 540.0) % 360.0 - 180.0
    return (lon, math.degrees(lat2))


def ellipse_point(
    centre: LonLat, rx: float, ry: float, rotation_deg: float, at_deg: float
) -> LonLat:
    """The point of an ellipse at bearing-angle ``at_deg`` (measured before rotation)."""
    east = rx * math.sin(math.radians(at_deg))
    north = ry * math.cos(math.radians(at_deg))
    bearing = math.degrees(math.atan2(east, north)) - rotation_deg
    return destination(centre, bearing, math.hypot(east, north))


def sweep(start_deg: float, end_deg: float) -> list[float]:
    """Angles from ``start_deg`` clockwise to ``end_deg`` (a full turn when equal)."""
    span = (end_deg - start_deg) % 360.0 or 360.0
    steps = max(2, math.ceil(span / 360.0 * STEPS_PER_TURN))
    return [start_deg + span * i / steps for i in range(steps + 1)]


def ellipse_ring(centre: LonLat, rx: float, ry: float, rotation_deg: float) -> list[LonLat]:
    """A closed ring around an ellipse."""
    ring = [ellipse_point(centre, rx, ry, rotation_deg, a) for a in sweep(0.0, 0.0)[:-1]]
    return [*ring, ring[0]]


def arc_line(
    centre: LonLat, rx: float, ry: float, rotation_deg: float, start: float, end: float
) -> list[LonLat]:
    """The open line along an elliptical arc."""
    return [ellipse_point(centre, rx, ry, rotation_deg, a) for a in sweep(start, end)]


def arcband_ring(
    centre: LonLat, inner: float, outer: float, start: float, end: float
) -> list[LonLat]:
    """A closed ring around the band between two radii and two bearings (a sector when
    the inner radius is 0)."""
    angles = sweep(start, end)
    outside = [destination(centre, a, outer) for a in angles]
    inside = [destination(centre, a, inner) for a in reversed(angles)] if inner > 0 else [centre]
    ring = [*outside, *inside]
    return [*ring, ring[0]]


def rectangle_ring(
    centre: LonLat, width: float, height: float, rotation_deg: float
) -> list[LonLat]:
    """A closed ring around a rectangle of ``width`` (east-west) by ``height`` metres."""
    corners = [(-width / 2, height / 2), (width / 2, height / 2), (width / 2, -height / 2)]
    corners.append((-width / 2, -height / 2))
    ring = [
        destination(centre, math.degrees(math.atan2(e, n)) - rotation_deg, math.hypot(e, n))
        for e, n in corners
    ]
    return [*ring, ring[0]]
