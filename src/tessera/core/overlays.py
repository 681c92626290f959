"""Overlays (DESIGN §2): drawn or imported shapes that are not tracks.

A point of interest, a line or route, an area, a circle or a corridor, with a name, an
optional control-measure SIDC, remarks, validity times, a security label and the
principal who made it. Coordinates are WGS 84 longitude, latitude (and optionally
altitude), as in GeoJSON.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import msgspec

from tessera.core.model import Identifier, Label, Remarks, Sidc

Coordinate = tuple[float, float] | tuple[float, float, float]
OverlayName = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Radius = Annotated[float, msgspec.Meta(gt=0.0, le=10_000_000.0)]
Width = Annotated[float, msgspec.Meta(gt=0.0, le=1_000_000.0)]


class OverlayKind(enum.StrEnum):
    POINT = "point"  # a point of interest
    LINE = "line"  # a line or a route
    AREA = "area"  # a polygon: its ring, closed
    CIRCLE = "circle"  # a centre and a radius
    CORRIDOR = "corridor"  # a centre line and a width


class Overlay(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``coordinates``: one point (point, circle), the line (line, corridor), or the ring
    (area: first and last the same). ``radius_m`` for circles, ``width_m`` for corridors."""

    id: Identifier
    name: OverlayName
    kind: OverlayKind
    coordinates: tuple[Coordinate, ...]
    radius_m: Radius | None = None
    width_m: Width | None = None
    sidc: Sidc | None = None
    remarks: Remarks = ""
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    label: Label
    author: str = ""
    updated_at: datetime | None = None
