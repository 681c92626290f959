"""Overlays (DESIGN §2): drawn or imported shapes that are not tracks.

A point of interest, a line or route, an area, a circle or a corridor, with a name, an
optional control-measure SIDC, remarks, validity times, a security label and the
principal who made it. Coordinates are WGS 84 longitude, latitude (and optionally
altitude), as in GeoJSON.
"""

from __future__ import annotations

import enum
import math
from datetime import datetime
from typing import Annotated, Final

import msgspec

from tessera.core.imagery import Imagery
from tessera.core.model import Identifier, Label, Sidc, StoredRemarks
from tessera.core.text import FREE_TEXT_PATTERN

# Longitude, latitude and optionally altitude (one tuple type: msgspec decodes no union of
# tuples).
Coordinate = Annotated[tuple[float, ...], msgspec.Meta(min_length=2, max_length=3)]
# A name as clients send it (no control characters), and as it is stored (read back
# without the pattern, like StoredRemarks).
OverlayName = Annotated[str, msgspec.Meta(min_length=1, max_length=256, pattern=FREE_TEXT_PATTERN)]
StoredOverlayName = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Radius = Annotated[float, msgspec.Meta(gt=0.0, le=10_000_000.0)]
MAX_VERTICES: Final = 10_000
Width = Annotated[float, msgspec.Meta(gt=0.0, le=1_000_000.0)]


class OverlayKind(enum.StrEnum):
    POINT = "point"  # a point of interest
    LINE = "line"  # a line or a route
    AREA = "area"  # a polygon: its ring, closed
    CIRCLE = "circle"  # a centre and a radius
    CORRIDOR = "corridor"  # a centre line and a width


# An area's ring counts its closing position, so a triangle is four.
MIN_POSITIONS: Final = {
    OverlayKind.POINT: 1,
    OverlayKind.LINE: 2,
    OverlayKind.AREA: 4,
    OverlayKind.CIRCLE: 1,
    OverlayKind.CORRIDOR: 2,
}


Positions = Annotated[tuple[Coordinate, ...], msgspec.Meta(min_length=1, max_length=MAX_VERTICES)]


class Overlay(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``coordinates``: one point (point, circle), the line (line, corridor), or the ring
    (area: first and last the same). ``radius_m`` for circles, ``width_m`` for corridors."""

    id: Identifier
    name: StoredOverlayName
    kind: OverlayKind
    coordinates: Annotated[
        tuple[Coordinate, ...], msgspec.Meta(min_length=1, max_length=MAX_VERTICES)
    ]
    radius_m: Radius | None = None
    width_m: Width | None = None
    sidc: Sidc | None = None
    remarks: StoredRemarks = ""
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    label: Label
    author: str = ""
    updated_at: datetime | None = None
    # How another system drew it (an NVG ``style``: inline CSS), kept to be written back.
    style: StoredRemarks = ""
    # An imagery footprint's facts (tessera.core.imagery): the image this area stands for.
    imagery: Imagery | None = None


class OverlayRevision(msgspec.Struct, frozen=True, kw_only=True):
    """One change to an overlay as the journal keeps it: the overlay as it now is, or
    (``overlay`` ``None``) its deletion. ``id`` is the revision's own id, the journal's
    de-duplication key, so a retried create, edit or import is stored once."""

    id: Identifier
    overlay_id: Identifier
    overlay: Overlay | None
    by: str = ""


def geometry_problems(overlay: Overlay) -> list[tuple[str, str]]:
    """What is wrong with an overlay's shape for its kind, as (field, reason) pairs."""
    problems: list[tuple[str, str]] = []
    count = len(overlay.coordinates)
    kind = overlay.kind
    for index, point in enumerate(overlay.coordinates):
        lon, lat = point[0], point[1]
        if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
            problems.append((f"coordinates[{index}][0]", "longitude must be within -180..180"))
        if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
            problems.append((f"coordinates[{index}][1]", "latitude must be within -90..90"))
        if len(point) > 2 and not math.isfinite(point[2]):
            problems.append((f"coordinates[{index}][2]", "altitude must be a finite number"))
    needed = MIN_POSITIONS[kind]
    if count < needed:
        problems.append(("coordinates", f"a {kind.value} needs at least {needed} position(s)"))
    if kind in (OverlayKind.POINT, OverlayKind.CIRCLE) and count > 1:
        problems.append(("coordinates", f"a {kind.value} has exactly one position"))
    if kind is OverlayKind.CIRCLE and overlay.radius_m is None:
        problems.append(("radius_m", "a circle needs a radius"))
    if kind is not OverlayKind.CIRCLE and overlay.radius_m is not None:
        problems.append(("radius_m", "only a circle has a radius"))
    if kind is OverlayKind.CORRIDOR and overlay.width_m is None:
        problems.append(("width_m", "a corridor needs a width"))
    if kind is not OverlayKind.CORRIDOR and overlay.width_m is not None:
        problems.append(("width_m", "only a corridor has a width"))
    if (
        overlay.valid_from is not None
        and overlay.valid_to is not None
        and overlay.valid_to < overlay.valid_from
    ):
        problems.append(("valid_to", "is before valid_from"))
    return problems
