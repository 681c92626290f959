"""Tracks and overlays out as an NVG 2.0.2 document.

The classification goes on the root's ``classification`` attribute; each track becomes
a ``point`` with ``symbol="app6d:<SIDC>"``, its name, quantity and Admiralty grading as
the ``T``, ``C`` and ``J`` modifiers (``key:value`` pairs separated by ``;``), its
course and speed (knots) and, in ``ExtendedData``, its observation time and sources.
Overlays become the matching NVG shapes. Control characters in free text (stored before
input refused them) are written as U+FFFD: XML 1.0 cannot carry most of them, and one
would fail the whole document. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from lxml import etree

from tessera.core.model import Track
from tessera.core.overlays import Coordinate, Overlay, OverlayKind
from tessera.core.text import without_control_characters

NVG_NAMESPACE: Final = "https://tide.act.nato.int/schemas/2012/10/nvg"
NVG_VERSION: Final = "2.0.2"
KNOT_MS: Final = 1852.0 / 3600.0


def write_nvg(
    tracks: Sequence[Track],
    overlays: Sequence[Overlay],
    *,
    picture: str,
    classification: str,
    now: datetime,
) -> bytes:
    """One NVG 2.0.2 document of ``tracks`` and ``overlays``."""
    root = etree.Element(_tag("nvg"), nsmap={None: NVG_NAMESPACE})  # type: ignore[dict-item]
    root.set("version", NVG_VERSION)
    root.set("classification", _printable(classification))
    _extended_data(root, {"picture": picture, "generated_at": _iso(now)})
    for track in tracks:
        _track(root, track)
    for overlay in overlays:
        _overlay(root, overlay)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _tag(name: str) -> str:
    return f"{{{NVG_NAMESPACE}}}{name}"


def _track(root: etree._Element, track: Track) -> None:
    point = etree.SubElement(root, _tag("point"))
    name = _printable(track.subject or track.id)
    point.set("uri", track.id)
    point.set("label", name)
    point.set("symbol", f"app6d:{track.sidc}")
    point.set("x", repr(track.position.lon))
    point.set("y", repr(track.position.lat))
    if track.position.alt is not None:
        point.set("z", repr(track.position.alt))
    if track.velocity is not None:
        point.set("course", repr(track.velocity.course))
        point.set("speed", repr(track.velocity.speed / KNOT_MS))
    point.set("modifiers", _modifiers(name, track.quantity, track.grading.code))
    sources = " ".join(f"{source.kind.value}:{source.id}" for source in track.sources)
    _extended_data(point, {"observed_at": _iso(track.updated_at), "sources": sources})


def _modifiers(name: str, quantity: int | None, grading: str) -> str:
    # ";" separates the pairs, so it must not appear in a value.
    pairs = [("T", name.replace(";", ",")), ("J", grading)]
    if quantity is not None:
        pairs.append(("C", str(quantity)))
    return ";".join(f"{key}:{value}" for key, value in pairs)


def _overlay(root: etree._Element, overlay: Overlay) -> None:
    kind = overlay.kind
    if kind is OverlayKind.POINT:
        element = etree.SubElement(root, _tag("point"))
        _xy(element, "x", "y", overlay.coordinates[0])
    elif kind is OverlayKind.CIRCLE:
        element = etree.SubElement(root, _tag("circle"))
        _xy(element, "cx", "cy", overlay.coordinates[0])
        element.set("r", repr(overlay.radius_m or 1.0))
    elif kind is OverlayKind.AREA:
        element = etree.SubElement(root, _tag("polygon"))
        ring = overlay.coordinates
        # NVG polygons are implicitly closed: the repeated first vertex is left out.
        element.set("points", _points(ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else ring))
    else:
        name = "corridor" if kind is OverlayKind.CORRIDOR else "polyline"
        element = etree.SubElement(root, _tag(name))
        element.set("points", _points(overlay.coordinates))
        if kind is OverlayKind.CORRIDOR:
            element.set("width", repr(overlay.width_m or 1.0))
    element.set("uri", overlay.id)
    element.set("label", _printable(overlay.name))
    if overlay.sidc:
        element.set("symbol", f"app6d:{overlay.sidc}")
    if overlay.remarks:
        etree.SubElement(element, _tag("textInfo")).text = _printable(overlay.remarks)


def _xy(element: etree._Element, x: str, y: str, coordinate: Coordinate) -> None:
    element.set(x, repr(coordinate[0]))
    element.set(y, repr(coordinate[1]))


def _points(coordinates: Sequence[Coordinate]) -> str:
    return " ".join(f"{c[0]!r},{c[1]!r}" for c in coordinates)


def _extended_data(parent: etree._Element, values: dict[str, str]) -> None:
    data = etree.SubElement(parent, _tag("ExtendedData"))
    for key, value in values.items():
        etree.SubElement(data, _tag("SimpleData"), key=key).text = _printable(value)


def _printable(text: str) -> str:
    return without_control_characters(text, "\ufffd")


def _iso(value: datetime) -> str:
    aware = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.isoformat().replace("+00:00", "Z")
