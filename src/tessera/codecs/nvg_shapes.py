"""Each NVG shape's geometry, read from its attributes and handed to `nvg_build` as a
report (a unit's point) or an overlay: ellipses, arcs, arcbands and rectangles as
approximating polygons or lines (`nvg_geometry`), rotations counter-clockwise as the
schema says. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from lxml import etree

from tessera.codecs import nvg_geometry as geo
from tessera.codecs.nvg_attributes import (
    NvgError,
    child_text,
    ellipse_params,
    length,
    lonlat,
    number,
    points,
    speed_ms,
    where,
)
from tessera.codecs.nvg_build import ReadContext, add, remarks, report, skip
from tessera.codecs.nvg_details import motion_note
from tessera.codecs.nvg_symbols import symbol_of
from tessera.core.overlays import OverlayKind


def _point(el: etree._Element, ctx: ReadContext) -> None:
    spot = lonlat(el, "x", "y")
    raw_symbol = el.get("symbol")
    symbol = symbol_of(raw_symbol) if raw_symbol else None
    if symbol is not None and not symbol.graphic:
        stated = report(el, ctx, spot, symbol)
        if stated.valid_until is not None and stated.valid_until <= stated.observed_at:
            skip(ctx, el, "its validity (TimeSpan end) ended before its time")
            return
        ctx.out.reports.append(stated)
        return
    sidc = symbol.sidc if symbol else None
    motion = motion_note(el.get("course"), speed_ms(el, ctx.speed_unit))
    note = remarks(symbol.note if symbol else None, motion) or None
    add(ctx, el, OverlayKind.POINT, [spot], sidc=sidc, note=note)


def _multipoint(el: etree._Element, ctx: ReadContext) -> None:
    for index, spot in enumerate(points(el, minimum=1)):
        add(ctx, el, OverlayKind.POINT, [spot], suffix=f".{index}")


def _text(el: etree._Element, ctx: ReadContext) -> None:
    add(ctx, el, OverlayKind.POINT, [lonlat(el, "x", "y")], name=child_text(el, "content"))


def _polyline(el: etree._Element, ctx: ReadContext) -> None:
    add(ctx, el, OverlayKind.LINE, points(el, minimum=2))


def _corridor(el: etree._Element, ctx: ReadContext) -> None:
    width = length(el, "width", limit=1_000_000.0)
    add(ctx, el, OverlayKind.CORRIDOR, points(el, minimum=2), width=width)


def _orbit(el: etree._Element, ctx: ReadContext) -> None:
    width = length(el, "width", limit=1_000_000.0)
    note = "orbit drawn as a corridor between its two points"
    add(ctx, el, OverlayKind.CORRIDOR, points(el, minimum=2), width=width, note=note)


def _polygon(el: etree._Element, ctx: ReadContext) -> None:
    ring = points(el, minimum=3)
    if ring[0] != ring[-1]:
        ring.append(ring[0])  # NVG rings may be open; Tessera's areas are closed
    add(ctx, el, OverlayKind.AREA, ring)


def _circle(el: etree._Element, ctx: ReadContext) -> None:
    centre = lonlat(el, "cx", "cy")
    radius = length(el, "r", limit=10_000_000.0)
    add(ctx, el, OverlayKind.CIRCLE, [centre], radius=radius)


def _ellipse(el: etree._Element, ctx: ReadContext) -> None:
    centre, rx, ry, rotation = ellipse_params(el)
    ring = geo.ellipse_ring(centre, rx, ry, rotation)
    add(ctx, el, OverlayKind.AREA, ring, note="ellipse approximated as a polygon")


def _arc(el: etree._Element, ctx: ReadContext) -> None:
    centre, rx, ry, rotation = ellipse_params(el)
    start, end = number(el, "startangle"), number(el, "endangle")
    line = geo.arc_line(centre, rx, ry, rotation, start, end)
    add(ctx, el, OverlayKind.LINE, line, note="arc approximated as a line")


def _arcband(el: etree._Element, ctx: ReadContext) -> None:
    centre = lonlat(el, "cx", "cy")
    inner = number(el, "minr", default=0.0)
    outer = length(el, "maxr", limit=10_000_000.0)
    if not 0.0 <= inner < outer:
        raise NvgError(f"{where(el)}: minr must be at least 0 and less than maxr")
    start, end = number(el, "startangle"), number(el, "endangle")
    ring = geo.arcband_ring(centre, inner, outer, start, end)
    add(ctx, el, OverlayKind.AREA, ring, note="arcband approximated as a polygon")


def _rect(el: etree._Element, ctx: ReadContext) -> None:
    centre, half_width, half_height, rotation = ellipse_params(el)  # rx, ry: half sides
    ring = geo.rectangle_ring(centre, 2 * half_width, 2 * half_height, rotation)
    add(ctx, el, OverlayKind.AREA, ring, note="rectangle drawn as a polygon")


def _rectangle(el: etree._Element, ctx: ReadContext) -> None:
    centre = lonlat(el, "cx", "cy")
    width = length(el, "width", limit=10_000_000.0)
    height = length(el, "height", limit=10_000_000.0)
    ring = geo.rectangle_ring(centre, width, height, number(el, "rotation", default=0.0))
    add(ctx, el, OverlayKind.AREA, ring, note="rectangle drawn as a polygon")


HANDLERS: Final[dict[str, Callable[[etree._Element, ReadContext], None]]] = {
    "point": _point,
    "multipoint": _multipoint,
    "text": _text,
    "polyline": _polyline,
    "arrow": _polyline,  # the arrow head and width are not kept
    "corridor": _corridor,
    "orbit": _orbit,
    "polygon": _polygon,
    "circle": _circle,
    "ellipse": _ellipse,
    "arc": _arc,
    "arcband": _arcband,
    "rect": _rect,  # NVG 2.0: half sides rx, ry
    "rectangle": _rectangle,
}
