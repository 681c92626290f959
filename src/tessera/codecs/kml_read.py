"""KML and KMZ files in, reports and overlays out: untrusted bytes to `Report`s and
`Overlay`s or a clean `KmlError`.

A track placemark (a Point whose ExtendedData names an identity and a status, as Tessera
exports a track: `kml_tracks`) becomes a report, with its identity, status, name, SIDC,
grading, time and validity. Other placemarks with a Point, LineString, LinearRing,
Polygon (its outer ring) or MultiGeometry (each part) become overlays; anything else
(ground overlays, models, gx:Tracks, network links, placemarks without geometry, inner
rings) is listed in ``skipped`` with its element, line and reason. A malformed file
raises `KmlError` and yields nothing: all or nothing.

Parsing is the hardened one CoT uses, and a KMZ is read from its first ``.kml`` entry
within limits (`kml_tree`). Given ``ImportLabels`` rather than a label, the file's own
security markings (on the Document, Folders and Placemarks) label each item or refuse
the file. Pure: no I/O.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Final

import msgspec
from lxml import etree

from tessera.codecs.import_labels import FileLabels, ImportLabels, Labelled, rule_of
from tessera.codecs.kml_tracks import kml_track, track_fields, track_report
from tessera.codecs.kml_tree import MAX_BYTES, KmlError, kml_root, line_of
from tessera.codecs.kml_tree import child as _child
from tessera.codecs.kml_tree import is_kml as _is_kml
from tessera.codecs.kml_tree import local as _local
from tessera.codecs.marking_sources import kml_markings
from tessera.codecs.markings import Marking
from tessera.core.model import Label, Report
from tessera.core.overlays import Coordinate, Overlay, OverlayKind
from tessera.core.text import without_control_characters

__all__ = ["KmlError", "KmlImport", "Skipped", "read_kml"]

MAX_OVERLAYS: Final = 10_000
MAX_NAME: Final = 256
MAX_REMARKS: Final = 4096
GEOMETRIES: Final = frozenset({"Point", "LineString", "LinearRing", "Polygon", "MultiGeometry"})
# Geometries and features that are not shapes: listed as skipped, never guessed at.
OTHER_GEOMETRIES: Final = frozenset({"Model", "Track", "MultiTrack"})
OTHER_FEATURES: Final = frozenset({"GroundOverlay", "ScreenOverlay", "PhotoOverlay", "NetworkLink"})


class Skipped(msgspec.Struct, frozen=True):
    """Something in the file that was not imported, and why."""

    element: str
    line: int | None
    reason: str


class KmlImport(msgspec.Struct, frozen=True):
    """``reports``: the track placemarks of a KML Tessera (or a system like it) wrote."""

    overlays: tuple[Overlay, ...]
    skipped: tuple[Skipped, ...]
    labelled: Labelled | None = None
    reports: tuple[Report, ...] = ()


class _Part(msgspec.Struct, frozen=True):
    kind: OverlayKind
    coordinates: tuple[Coordinate, ...]


def read_kml(
    data: bytes,
    *,
    label: Label | ImportLabels,
    author: str,
    now: datetime,
    new_id: Callable[[], str],
    max_bytes: int = MAX_BYTES,
) -> KmlImport:
    """Every importable placemark in a KML or KMZ file labelled ``label``: a track
    placemark (`kml_tracks`) as a report, any other as overlays."""
    root = kml_root(data, max_bytes=max_bytes)
    top = next((child for child in root if _local(child) in ("Document", "Folder")), None)
    document = [] if top is None else kml_markings(top, document=_local(top) == "Document")
    scopes = _Scopes(rule_of(label).file(document), top)
    overlays: list[Overlay] = []
    reports: list[Report] = []
    skipped: list[Skipped] = []
    for placemark in _features(root, skipped, scopes):
        marking = scopes.of(placemark)
        where = f"<Placemark> at line {placemark.sourceline}"
        fields = track_fields(placemark)
        if fields is not None:
            if len(reports) >= MAX_OVERLAYS:
                raise KmlError(f"document: more than {MAX_OVERLAYS} tracks")
            track = kml_track(placemark, fields)
            item_label = scopes.labels.item(marking, where)
            report = track_report(track, label=item_label, now=now, new_id=new_id)
            if report.valid_until is not None and report.valid_until <= report.observed_at:
                skipped.append(
                    _skip(placemark, "its validity (TimeSpan end) ended before its time")
                )
            else:
                reports.append(report)
            continue
        for name, part in _parts(placemark, skipped):
            if len(overlays) >= MAX_OVERLAYS:
                raise KmlError(f"document: more than {MAX_OVERLAYS} shapes")
            item_label = scopes.labels.item(marking, where)
            overlays.append(_overlay(placemark, name, part, item_label, author, now, new_id()))
    return KmlImport(tuple(overlays), tuple(skipped), scopes.labels.finish(), tuple(reports))


class _Scopes:
    """The marking in force at each feature: the document's, its Folders' and its own."""

    def __init__(self, labels: FileLabels, top: etree._Element | None) -> None:
        self.labels = labels
        self._top = top
        self._known: dict[etree._Element, Marking | None] = {}

    def of(self, element: etree._Element) -> Marking | None:
        parent = element.getparent()
        if element is self._top or parent is None:
            return self.labels.document
        if element not in self._known:
            outer = self.of(parent)
            self._known[element] = self.labels.within(outer, kml_markings(element))
        return self._known[element]


def _features(
    root: etree._Element, skipped: list[Skipped], scopes: _Scopes
) -> Iterator[etree._Element]:
    """Every Placemark, in document order; unsupported features go to ``skipped`` (their
    markings still count)."""
    for element in root.iter():
        name = _local(element)
        if name == "Placemark" and _is_kml(element):
            yield element
        elif name in OTHER_FEATURES:
            scopes.of(element)
            skipped.append(_skip(element, f"{name} is not an overlay shape Tessera imports"))
        elif name in ("Document", "Folder"):
            scopes.of(element)


def _parts(placemark: etree._Element, skipped: list[Skipped]) -> Iterator[tuple[str, _Part]]:
    """The placemark's name and each shape it holds (several for a MultiGeometry)."""
    name = _name(placemark)
    geometries = [child for child in placemark if _local(child) in GEOMETRIES | OTHER_GEOMETRIES]
    if not geometries:
        skipped.append(_skip(placemark, "a Placemark without a geometry"))
        return
    parts = [part for geometry in geometries for part in _shapes(geometry, skipped)]
    for index, part in enumerate(parts, start=1):
        suffix = f" ({index}/{len(parts)})" if len(parts) > 1 else ""
        yield name[: MAX_NAME - len(suffix)] + suffix, part


def _shapes(geometry: etree._Element, skipped: list[Skipped]) -> list[_Part]:
    kind = _local(geometry)
    if kind == "MultiGeometry":
        return [part for child in geometry for part in _shapes(child, skipped)]
    if kind == "Point":
        return [_Part(OverlayKind.POINT, _coordinates(geometry, 1)[:1])]
    if kind == "LineString":
        return [_Part(OverlayKind.LINE, _coordinates(geometry, 2))]
    if kind == "LinearRing":
        return [_Part(OverlayKind.AREA, _ring(geometry))]
    if kind == "Polygon":
        return _polygon(geometry, skipped)
    skipped.append(_skip(geometry, f"{kind} is not a shape Tessera imports"))
    return []


def _polygon(polygon: etree._Element, skipped: list[Skipped]) -> list[_Part]:
    outer = _child(polygon, "outerBoundaryIs")
    ring = None if outer is None else _child(outer, "LinearRing")
    if ring is None:
        raise KmlError(f"line {polygon.sourceline}: Polygon: no outerBoundaryIs/LinearRing")
    for inner in (child for child in polygon if _local(child) == "innerBoundaryIs"):
        skipped.append(_skip(inner, "inner rings (holes) are not imported"))
    return [_Part(OverlayKind.AREA, _ring(ring))]


def _ring(ring: etree._Element) -> tuple[Coordinate, ...]:
    points = _coordinates(ring, 3)
    # KML says rings are closed; many writers forget. Closing them loses nothing.
    if points[0][:2] != points[-1][:2]:
        points = (*points, points[0])
    if len(points) < 4:
        raise KmlError(f"line {ring.sourceline}: LinearRing: fewer than 3 distinct positions")
    return points


def _coordinates(geometry: etree._Element, minimum: int) -> tuple[Coordinate, ...]:
    where = f"line {geometry.sourceline}: {_local(geometry)}"
    element = _child(geometry, "coordinates")
    if element is None:
        raise KmlError(f"{where}: no coordinates")
    points = tuple(_position(text, where) for text in (element.text or "").split())
    if len(points) < minimum:
        raise KmlError(f"{where}: fewer than {minimum} positions")
    return points


def _position(text: str, where: str) -> Coordinate:
    try:
        values = [float(value) for value in text.split(",")]
    except ValueError:
        raise KmlError(f"{where}: {text[:40]!r} is not lon,lat[,alt]") from None
    if not 2 <= len(values) <= 3 or not all(math.isfinite(value) for value in values):
        raise KmlError(f"{where}: {text[:40]!r} is not lon,lat[,alt]")
    lon, lat = values[0], values[1]
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise KmlError(f"{where}: {text[:40]!r} is outside WGS 84 longitude and latitude")
    return (lon, lat, values[2]) if len(values) == 3 else (lon, lat)


def _overlay(
    placemark: etree._Element,
    name: str,
    part: _Part,
    label: Label,
    author: str,
    now: datetime,
    identifier: str,
) -> Overlay:
    valid_from, valid_to = _validity(placemark)
    description = _child(placemark, "description")
    remarks = html.unescape((description.text or "") if description is not None else "")
    remarks = without_control_characters(remarks)
    return Overlay(
        id=identifier,
        name=name,
        kind=part.kind,
        coordinates=part.coordinates,
        remarks=remarks.strip()[:MAX_REMARKS],
        valid_from=valid_from,
        valid_to=valid_to,
        label=label,
        author=author,
        updated_at=now,
    )


def _validity(placemark: etree._Element) -> tuple[datetime | None, datetime | None]:
    span = _child(placemark, "TimeSpan")
    if span is None:
        return None, None
    begin, end = _child(span, "begin"), _child(span, "end")
    valid_from = None if begin is None else _when(begin)
    valid_to = None if end is None else _when(end)
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise KmlError(f"line {span.sourceline}: TimeSpan: end before begin")
    return valid_from, valid_to


def _when(element: etree._Element) -> datetime | None:
    """A KML time (dateTime, date, gYearMonth or gYear) as an aware UTC datetime."""
    text = (element.text or "").strip()
    if not text:
        return None
    padded = text + "-01-01"[len(text) - 4 :] if len(text) in (4, 7) else text
    try:
        moment = datetime.fromisoformat(padded)
    except ValueError:
        where = f"line {element.sourceline}: {_local(element)}"
        raise KmlError(f"{where}: {text[:40]!r} is not a KML time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # KML times without a zone are taken as UTC
    return moment.astimezone(UTC)


def _name(placemark: etree._Element) -> str:
    element = _child(placemark, "name")
    text = without_control_characters(element.text or "") if element is not None else ""
    name = " ".join(text.split())
    return name[:MAX_NAME] or f"Placemark at line {placemark.sourceline}"


def _skip(element: etree._Element, reason: str) -> Skipped:
    return Skipped(_local(element), line_of(element), reason)
