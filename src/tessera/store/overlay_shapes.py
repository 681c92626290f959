"""Overlays' shapes as the PostGIS store keeps them, and whether a box meets one: the one
answer to ``bbox`` that every store and the change feed give.

A shape is the overlay's GeoJSON geometry (circles and corridors drawn as the polygons
every export draws) in two dimensions. One that crosses the antimeridian is split there
and its part east of 180 degrees moved back by 360, as PostGIS's ST_ShiftLongitude and
ST_WrapX do on writing. A box meets a shape when the two share a point, edges included
(ST_Intersects on lines of longitude and latitude: a line between two positions is
straight in degrees); a box whose west is east of its east crosses the antimeridian, and
is two boxes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import shapely

from tessera.codecs.geojson_export import overlay_geometry
from tessera.core.overlays import Overlay

BBox = tuple[float, float, float, float]
# The parts of a shape: one, or the two sides of the antimeridian.
OverlayShape = tuple[shapely.Geometry, ...]
# Far enough past any longitude a shifted shape can reach (0..360) to clip by.
_BEYOND: Final = 1_000.0


def crosses_antimeridian(geometry: dict[str, Any]) -> bool:
    """Whether a GeoJSON line or polygon jumps more than 180 degrees of longitude from one
    position to the next: it goes the short way, across the antimeridian."""
    for line in _lines(geometry.get("type"), geometry.get("coordinates")):
        lons = [float(point[0]) for point in line]
        if any(abs(b - a) > 180.0 for a, b in itertools.pairwise(lons)):
            return True
    return False


def _lines(kind: object, coordinates: Any) -> Iterator[Any]:
    if kind == "LineString":
        yield coordinates
    elif kind == "Polygon":
        yield from coordinates


def overlay_shape(overlay: Overlay) -> OverlayShape:
    """The overlay's shape, in parts."""
    geometry = overlay_geometry(overlay)
    drawn = _flat(geometry)
    if not crosses_antimeridian(geometry):
        return (drawn,)
    shifted = shapely.transform(drawn, _shift_longitude)
    try:
        return _split(shifted)
    except shapely.errors.GEOSException:
        # An area with no inside (its positions on one line): its outline is all of it.
        return _split(shapely.boundary(shifted))


def _split(shifted: shapely.Geometry) -> OverlayShape:
    """The parts west and east of 180 degrees, the eastern one moved back by 360."""
    west = shapely.clip_by_rect(shifted, -_BEYOND, -90.0, 180.0, 90.0)
    east = shapely.clip_by_rect(shifted, 180.0, -90.0, _BEYOND, 90.0)
    moved = shapely.transform(east, _move_west)
    return tuple(part for part in (west, moved) if not part.is_empty)


def _flat(geometry: dict[str, Any]) -> shapely.Geometry:
    """A GeoJSON Point, LineString or Polygon (what overlay_geometry draws) in two
    dimensions; positions may mix heights and none. A ring too short to be one (not
    taken from clients, but a stored overlay is never refused) is its positions."""
    kind, coordinates = geometry["type"], geometry["coordinates"]
    if kind == "Point":
        return shapely.Point(coordinates[0], coordinates[1])
    if kind == "LineString":
        return shapely.LineString([(point[0], point[1]) for point in coordinates])
    ring = [(point[0], point[1]) for point in coordinates[0]]
    if len(ring) < 4:
        return shapely.MultiPoint(ring)
    return shapely.Polygon(ring)


def _shift_longitude(coordinates: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """-180..0 to 180..360, as ST_ShiftLongitude (0..180 stays)."""
    shifted = coordinates.copy()
    lons = shifted[:, 0]
    shifted[:, 0] = np.where(lons < 0.0, lons + 360.0, lons)
    return shifted


def _move_west(coordinates: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    moved = coordinates.copy()
    moved[:, 0] -= 360.0
    return moved


class ShapeMemo:
    """Shapes drawn once each while the memo is kept: a batch of changes judged by many
    subscribers' filters draws each circle once, not once per filter."""

    def __init__(self) -> None:
        # By the overlay object, which is held so that its id is not reused meanwhile.
        self._shapes: dict[int, tuple[Overlay, OverlayShape]] = {}

    def shape(self, overlay: Overlay) -> OverlayShape:
        held = self._shapes.get(id(overlay))
        if held is None or held[0] is not overlay:
            held = self._shapes[id(overlay)] = (overlay, overlay_shape(overlay))
        return held[1]


def query_boxes(bbox: BBox) -> tuple[shapely.Polygon, ...]:
    """A (west, south, east, north) box as polygons: two if it crosses the antimeridian,
    none if it holds nothing (south above north) or is not made of numbers."""
    if not all(math.isfinite(value) for value in bbox) or bbox[1] > bbox[3]:
        return ()
    # Every shape is within -180..180 and -90..90: beyond _BEYOND a box holds no more, and
    # an edge at 1e300 would overflow.
    west, south, east, north = (max(-_BEYOND, min(value, _BEYOND)) for value in bbox)
    if west <= east:
        return (shapely.box(west, south, east, north),)
    return (shapely.box(west, south, 180.0, north), shapely.box(-180.0, south, east, north))


def meets(shape: OverlayShape, boxes: tuple[shapely.Polygon, ...]) -> bool:
    """Whether any part of the shape shares a point with any of the boxes."""
    return any(shapely.intersects(part, box) for part in shape for box in boxes)
