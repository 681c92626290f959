"""Tracks and overlays out as an NVG 2.0.2 document.

Valid against the NVG 2.0.2 schema. The classification goes on the root's
``classification`` attribute; each track becomes a ``point`` with
``symbol="app6d:<SIDC>"``, its name as ``label`` and as the ``T`` modifier, its quantity
and Admiralty grading as the ``C`` and ``J`` modifiers (``key:value`` pairs separated by
``;``), its course and speed (km/h, the schema's unit), its last update as
``TimeStamp``, how long a held track holds (``valid_until``) as the end of its
``TimeSpan`` (from its last update), and, in ``ExtendedData`` declared by a ``Schema`` at
the top, its status, observation time and sources. Overlays become the matching NVG
shapes, with their style and validity (``TimeSpan``). Coordinates are written as plain
decimals (the schema's coordinate pairs allow no exponent). Control characters in free text (stored
before input refused them) are written as U+FFFD: XML 1.0 cannot carry most of them, and
one would fail the whole document. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from lxml import etree

from tessera.core.model import SUBJECT_TRACK_PREFIX, Track
from tessera.core.overlays import Coordinate, Overlay, OverlayKind
from tessera.core.text import without_control_characters
from tessera.core.track_names import track_name

NVG_NAMESPACE: Final = "https://tide.act.nato.int/schemas/2012/10/nvg"
NVG_VERSION: Final = "2.0.2"
KMH_MS: Final = 1000.0 / 3600.0  # NVG 2.0 speeds are km/h
DECIMALS: Final = 9  # a billionth of a degree: about 0.1 mm
# The ExtendedData fields written, by schema id: (field, type) as the Schema declares them.
SCHEMAS: Final = {
    "tessera.document": (("picture", "string"), ("generated_at", "dateTime")),
    "tessera.track": (
        ("status", "string"),
        ("observed_at", "dateTime"),
        ("sources", "string"),
        ("parent", "string"),
    ),
}


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
    for schema_id, fields in SCHEMAS.items():
        schema = etree.SubElement(root, _tag("Schema"), schemaId=schema_id)
        for key, kind in fields:
            etree.SubElement(schema, _tag("SimpleField"), id=key, type=kind)
    _extended_data(root, "tessera.document", {"picture": picture, "generated_at": _iso(now)})
    for track in tracks:
        _track(root, track)
    for overlay in overlays:
        _overlay(root, overlay)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _tag(name: str) -> str:
    return f"{{{NVG_NAMESPACE}}}{name}"


def _track(root: etree._Element, track: Track) -> None:
    point = etree.SubElement(root, _tag("point"))
    name = _printable(track_name(track))
    point.set("uri", track.id)
    point.set("label", name)
    point.set("symbol", f"app6d:{track.sidc}")
    point.set("x", _decimal(track.position.lon))
    point.set("y", _decimal(track.position.lat))
    if track.position.alt is not None:
        point.set("z", repr(track.position.alt))
    if track.velocity is not None:
        point.set("course", repr(track.velocity.course))
        point.set("speed", repr(track.velocity.speed / KMH_MS))
    point.set("modifiers", _modifiers(name, track.quantity, track.grading.code))
    sources = " ".join(f"{source.kind.value}:{source.id}" for source in track.sources)
    fields = {"status": track.status.value, "observed_at": _iso(track.updated_at)}
    fields["sources"] = sources
    if track.parent is not None:
        # NVG has no relation between points: the formation goes as the uri its own
        # track has in such a file (a unit's own track is ``sub-`` and its subject).
        fields["parent"] = SUBJECT_TRACK_PREFIX + track.parent
    _extended_data(point, "tessera.track", fields)
    etree.SubElement(point, _tag("TimeStamp")).text = _iso(track.updated_at)
    if track.valid_until is not None:
        # Shown (and held, for a reader such as Tessera's) from its last update until then.
        _time_span(point, track.updated_at, track.valid_until)


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
    if overlay.style:
        element.set("style", _printable(overlay.style))
    if overlay.sidc:
        element.set("symbol", f"app6d:{overlay.sidc}")
    # The schema's order: textInfo, then TimeSpan. (No TimeStamp: an overlay is dated
    # when it is stored, so its time would not come back.)
    if overlay.remarks:
        etree.SubElement(element, _tag("textInfo")).text = _printable(overlay.remarks)
    if overlay.valid_from is not None or overlay.valid_to is not None:
        _time_span(element, overlay.valid_from, overlay.valid_to)


def _time_span(element: etree._Element, begin: datetime | None, end: datetime | None) -> None:
    span = etree.SubElement(element, _tag("TimeSpan"))
    for name, value in (("begin", begin), ("end", end)):
        if value is not None:
            etree.SubElement(span, _tag(name)).text = _iso(value)


def _xy(element: etree._Element, x: str, y: str, coordinate: Coordinate) -> None:
    element.set(x, _decimal(coordinate[0]))
    element.set(y, _decimal(coordinate[1]))


def _points(coordinates: Sequence[Coordinate]) -> str:
    return " ".join(f"{_decimal(c[0])},{_decimal(c[1])}" for c in coordinates)


def _decimal(value: float) -> str:
    """A degree as the schema's coordinates take it: digits, no exponent."""
    text = f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _extended_data(parent: etree._Element, schema_id: str, values: dict[str, str]) -> None:
    data = etree.SubElement(parent, _tag("ExtendedData"), schemaRef=f"#{schema_id}")
    for key, value in values.items():
        etree.SubElement(data, _tag("SimpleData"), key=key).text = _printable(value)


def _printable(text: str) -> str:
    return without_control_characters(text, "\ufffd")


def _iso(value: datetime) -> str:
    aware = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.isoformat().replace("+00:00", "Z")
