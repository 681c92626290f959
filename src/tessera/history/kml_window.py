"""A picture's time window as KML 2.2 with Google's extensions: each track a placemark
holding a ``gx:Track`` (a time and a position per point) and a ``TimeSpan`` from its first
to its last point, so Google Earth's time slider plays the window. The picture's name and
classification head the document; each placemark's fields are ExtendedData. Pure: no I/O;
deterministic (sorted)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from lxml import etree

from tessera.core.text import without_control_characters
from tessera.history.window import TrackPath

KML_NS: Final = "http://www.opengis.net/kml/2.2"
GX_NS: Final = "http://www.google.com/kml/ext/2.2"
_K: Final = "{" + KML_NS + "}"
_GX: Final = "{" + GX_NS + "}"
# Line colours by standard identity (KML colours are aabbggrr).
_COLOURS: Final = {
    "friend": "ffffa080",
    "assumed-friend": "ffffa080",
    "hostile": "ff3030ff",
    "suspect": "ff3030ff",
    "neutral": "ff40d040",
}
_UNKNOWN_COLOUR: Final = "ff40ffff"


def write_kml_window(
    paths: Sequence[TrackPath],
    *,
    picture: str,
    classification: str,
    start: datetime,
    end: datetime,
) -> bytes:
    root = etree.Element(_K + "kml", nsmap={None: KML_NS, "gx": GX_NS})  # type: ignore[dict-item]
    document = _sub(root, "Document")
    _text(document, "name", f"{picture} {iso(start)} to {iso(end)}")
    _text(document, "description", f"{classification}: picture {picture}, after-action window")
    span = _sub(document, "TimeSpan")
    _text(span, "begin", iso(start))
    _text(span, "end", iso(end))
    for identity, colour in sorted({**_COLOURS, "unknown": _UNKNOWN_COLOUR}.items()):
        style = _sub(document, "Style", id=f"identity-{identity}")
        line = _sub(style, "LineStyle")
        _text(line, "color", colour)
        _text(line, "width", "2")
        _text(_sub(style, "IconStyle"), "color", colour)
    folder = _sub(document, "Folder")
    _text(folder, "name", "Tracks")
    for path in paths:
        _placemark(folder, path)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def path_fields(path: TrackPath) -> list[tuple[str, Any]]:
    track = path.track
    return [
        ("id", track.id),
        ("name", track.name),
        ("subject", track.subject),
        ("sidc", track.sidc),
        ("identity", track.identity.value),
        ("status", track.status.value),
        ("classification", track.label.classification),
        ("releasable_to", " ".join(track.label.releasable_to) or None),
        ("begin", iso(path.begin)),
        ("end", iso(path.end)),
        ("points", len(path.points)),
    ]


def _placemark(folder: etree._Element, path: TrackPath) -> None:
    track = path.track
    placemark = _sub(folder, "Placemark")
    _text(placemark, "name", track.name or track.subject or track.id)
    span = _sub(placemark, "TimeSpan")
    _text(span, "begin", iso(path.begin))
    _text(span, "end", iso(path.end))
    identity = track.identity.value if track.identity.value in _COLOURS else "unknown"
    _text(placemark, "styleUrl", f"#identity-{identity}")
    data = _sub(placemark, "ExtendedData")
    for name, value in path_fields(path):
        if value is not None:
            _text(_sub(data, "Data", name=name), "value", str(value))
    gx_track = etree.SubElement(placemark, _GX + "Track")
    altitudes = any(point.alt is not None for point in path.points)
    _text(gx_track, "altitudeMode", "absolute" if altitudes else "clampToGround")
    for point in path.points:
        _text(gx_track, "when", iso(point.at))
    for point in path.points:
        coord = [point.lon, point.lat, point.alt or 0.0]
        etree.SubElement(gx_track, _GX + "coord").text = " ".join(_number(v) for v in coord)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _number(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _sub(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, _K + tag, attributes)


def _text(parent: etree._Element, tag: str, text: str) -> None:
    _sub(parent, tag).text = without_control_characters(text, "\ufffd")
