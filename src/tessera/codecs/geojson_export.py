"""A whole picture as one GeoJSON FeatureCollection (RFC 7946), and overlay geometry.

Tracks go through `codecs.geojson.track_feature`, so an export shows the same properties
as the REST API. Overlays become Features with their geometry; GeoJSON has no circles or
corridors, so those become Polygons approximated on the sphere (``kind`` and
``radius_m``/``width_m`` stay in the properties, so nothing is lost). `overlay_geometry`
is shared with the KML writer, so both exports draw the same shapes. Pure: no I/O.

Polygons are wound as RFC 7946 §3.1.6 asks (and KML 2.2 for its outer boundaries): the
exterior ring counterclockwise, holes clockwise, whichever way an area was drawn.

Known limits: shapes crossing the antimeridian are not split (RFC 7946 §3.1.9).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any, Final

from tessera.codecs.geojson import feature_collection, track_feature
from tessera.core.imagery import imagery_properties
from tessera.core.model import Track
from tessera.core.overlays import Coordinate, Overlay, OverlayKind

EARTH_RADIUS_M: Final = 6_371_008.8  # IUGG mean radius: the sphere the shapes are drawn on
CIRCLE_POINTS: Final = 64
# A corridor's corner is mitred, but never wider than this many half-widths, so a hairpin
# turn does not throw a spike across the map.
MAX_MITRE: Final = 2.0


def picture_feature_collection(
    tracks: Iterable[Track], overlays: Iterable[Overlay], *, picture: str, classification: str
) -> dict[str, Any]:
    """Tracks then overlays, each sorted by id, so the same picture exports the same."""
    features = [track_feature(track) for track in sorted(tracks, key=lambda t: t.id)]
    features += [overlay_feature(overlay) for overlay in sorted(overlays, key=lambda o: o.id)]
    return feature_collection(features, picture=picture, classification=classification)


def overlay_feature(overlay: Overlay) -> dict[str, Any]:
    feature = _overlay_feature(overlay)
    if overlay.imagery is not None:
        # Only imagery footprints carry it: every other overlay reads as it always has.
        feature["properties"]["imagery"] = imagery_properties(overlay.imagery)
    return feature


def _overlay_feature(overlay: Overlay) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": overlay.id,
        "geometry": overlay_geometry(overlay),
        "properties": {
            "id": overlay.id,
            "kind": overlay.kind.value,
            "name": overlay.name,
            "radius_m": overlay.radius_m,
            "width_m": overlay.width_m,
            "sidc": overlay.sidc,
            "remarks": overlay.remarks,
            "valid_from": overlay.valid_from,
            "valid_to": overlay.valid_to,
            "classification": overlay.label.classification,
            "releasable_to": list(overlay.label.releasable_to),
            "author": overlay.author,
            "updated_at": overlay.updated_at,
        },
    }


def overlay_geometry(overlay: Overlay) -> dict[str, Any]:
    """A GeoJSON geometry: Point, LineString or Polygon (one ring, closed)."""
    points = [list(point) for point in overlay.coordinates]
    kind = overlay.kind
    if kind is OverlayKind.CIRCLE and overlay.radius_m is not None and points:
        return _polygon(circle_ring(overlay.coordinates[0], overlay.radius_m))
    if kind is OverlayKind.CORRIDOR and overlay.width_m is not None and points:
        return _polygon(corridor_ring(overlay.coordinates, overlay.width_m))
    if kind is OverlayKind.LINE and len(points) >= 2:
        return {"type": "LineString", "coordinates": points}
    if kind is OverlayKind.AREA and len(points) >= 3:
        if points[0] != points[-1]:
            points.append(points[0])
        return {"type": "Polygon", "coordinates": wound_rings([points])}
    # A point, or a shape too short to draw: its first position still says where it is.
    return {"type": "Point", "coordinates": points[0] if points else [0.0, 0.0]}


def wound_rings(rings: list[list[list[float]]]) -> list[list[list[float]]]:
    """A polygon's rings (closed; the exterior first, then its holes) wound as RFC 7946
    says: the exterior counterclockwise, every hole clockwise. A ring with no area (all
    its points on a line) has no orientation and is kept as it is."""
    return [_wound(ring, counterclockwise=index == 0) for index, ring in enumerate(rings)]


def _wound(ring: list[list[float]], *, counterclockwise: bool) -> list[list[float]]:
    area = signed_area(ring)
    if area != 0.0 and (area > 0.0) != counterclockwise:
        return ring[::-1]
    return ring


def signed_area(ring: Sequence[Sequence[float]]) -> float:
    """The shoelace area of a closed ring in degrees squared (longitude as x, latitude
    as y): positive when counterclockwise."""
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring)) / 2


def circle_ring(centre: Coordinate, radius_m: float) -> list[tuple[float, float]]:
    """CIRCLE_POINTS positions at ``radius_m`` around ``centre``, counterclockwise (the
    RFC 7946 exterior orientation: decreasing bearing), closed."""
    lon, lat = centre[0], centre[1]
    ring = [
        destination(lon, lat, -360.0 * step / CIRCLE_POINTS, radius_m)
        for step in range(CIRCLE_POINTS)
    ]
    return [*ring, ring[0]]


def corridor_ring(line: tuple[Coordinate, ...], width_m: float) -> list[tuple[float, float]]:
    """The outline of a corridor ``width_m`` wide centred on ``line``, flat-ended (as NVG
    draws corridors): the right side forwards, the left side back, counterclockwise."""
    points = [(point[0], point[1]) for point in line]
    points = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    if len(points) < 2:
        return circle_ring(line[0], width_m / 2)
    right: list[tuple[float, float]] = []
    left: list[tuple[float, float]] = []
    for index, (lon, lat) in enumerate(points):
        heading, mitre = _vertex_heading(points, index)
        reach = width_m / 2 * mitre
        right.append(destination(lon, lat, heading + 90.0, reach))
        left.append(destination(lon, lat, heading - 90.0, reach))
    ring = right + left[::-1]
    return [*ring, ring[0]]


def _vertex_heading(points: list[tuple[float, float]], index: int) -> tuple[float, float]:
    """The direction to offset a corridor's vertex from (the mean of the headings in and
    out) and the mitre factor that keeps the sides parallel to the line."""
    heading_in = bearing(*points[index - 1], *points[index]) if index > 0 else None
    heading_out = bearing(*points[index], *points[index + 1]) if index + 1 < len(points) else None
    if heading_in is None or heading_out is None:
        only = heading_out if heading_in is None else heading_in
        return (only if only is not None else 0.0), 1.0
    turn = (heading_out - heading_in + 540.0) % 360.0 - 180.0
    mitre = min(1.0 / max(math.cos(math.radians(turn / 2)), 1e-9), MAX_MITRE)
    return heading_in + turn / 2, mitre


def destination(
    lon: float, lat: float, bearing_deg: float, distance_m: float
) -> tuple[float, float]:
    """The point ``distance_m`` from (lon, lat) along the great circle at ``bearing_deg``."""
    phi, lam = math.radians(lat), math.radians(lon)
    theta, delta = math.radians(bearing_deg), distance_m / EARTH_RADIUS_M
    sin_phi2 = math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta)
    phi2 = math.asin(max(-1.0, min(1.0, sin_phi2)))
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi),
        math.cos(delta) - math.sin(phi) * sin_phi2,
    )
    lon2 = (math.degrees(lam2) + 540.0) % 360.0 - 180.0
    return round(lon2, 9), round(math.degrees(phi2), 9)


def bearing(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Initial great-circle bearing from the first point to the second, degrees true."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlam = math.radians(lon2 - lon1)
    y = math.sin(dlam) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlam)
    return math.degrees(math.atan2(y, x)) % 360.0


def _polygon(ring: list[tuple[float, float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": wound_rings([[list(point) for point in ring]])}
