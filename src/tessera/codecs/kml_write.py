"""A picture as KML 2.2 or KMZ: tracks as symbol placemarks, overlays as KML geometry.

One Document named after the picture (its classification in the description) holding a
Style per SIDC, a "Tracks" Folder and an "Overlays" Folder. Each track placemark carries
its fields (identity, status, grading, label, last update...) as ExtendedData and its last
update as a TimeStamp; a held track (``valid_until``) a TimeSpan from its last update to
the end of its hold instead (a feature has one time). Symbols are not drawn here:
the caller says where each SIDC's icon is (`write_kml`) or hands the PNG bytes over
(`write_kmz`), and optionally each icon's hot spot: the point of the image that sits on the
position, which for a symbol with a headquarters staff or modifiers is not the image's
centre. Output is deterministic: everything sorted, fixed zip timestamps, so the same
picture exports byte for byte the same. Pure: no I/O.
"""

from __future__ import annotations

import html
import io
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from lxml import etree

from tessera.codecs.geojson_export import overlay_geometry
from tessera.core.grid_refs import mgrs_ref
from tessera.core.model import Label, Track
from tessera.core.overlays import Overlay, OverlayKind
from tessera.core.text import without_control_characters

KML_NS: Final = "http://www.opengis.net/kml/2.2"
_K: Final = "{" + KML_NS + "}"
# 1980-01-01, the earliest time a zip entry can carry: no clock leaks into the archive.
_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)
HotSpot = tuple[float, float]
# Balloon wording for people where a field's name is written for machines.
_SPOKEN: Final = {
    "identity_confidence": "identity confidence",
    "releasable_to": "releasable to",
    "updated_at": "last update",
    "valid_until": "holds until",
    "report_count": "reports",
    "speed": "speed (m/s)",
}


def write_kml(
    tracks: Iterable[Track],
    overlays: Iterable[Overlay],
    *,
    picture: str,
    classification: str,
    icon_href: Callable[[str], str],
    hot_spots: Mapping[str, HotSpot] | None = None,
) -> bytes:
    """``hot_spots``: by SIDC, as fractions of the icon (x from the left, y from the
    bottom); an icon without one keeps KML's default."""
    tracks = sorted(tracks, key=lambda track: track.id)
    overlays = sorted(overlays, key=lambda overlay: overlay.id)
    # (lxml-stubs do not know None, the default namespace, as an nsmap key.)
    root = etree.Element(_K + "kml", nsmap={None: KML_NS})  # type: ignore[dict-item]
    document = _sub(root, "Document")
    _text(document, "name", picture)
    _text(document, "description", f"Classification: {classification}. Picture: {picture}.")
    for sidc in used_sidcs(tracks, overlays):
        _icon_style(document, sidc, icon_href(sidc), (hot_spots or {}).get(sidc))
    track_folder = _folder(document, "Tracks")
    for track in tracks:
        _track_placemark(track_folder, track)
    overlay_folder = _folder(document, "Overlays")
    for overlay in overlays:
        _overlay_placemark(overlay_folder, overlay)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_kmz(
    tracks: Iterable[Track],
    overlays: Iterable[Overlay],
    *,
    picture: str,
    classification: str,
    icons: Mapping[str, bytes],
    hot_spots: Mapping[str, HotSpot] | None = None,
) -> bytes:
    """A KMZ: ``doc.kml`` first, then ``icons/<sidc>.png`` for every SIDC it uses."""
    tracks, overlays = list(tracks), list(overlays)
    sidcs = used_sidcs(tracks, overlays)
    missing = [sidc for sidc in sidcs if sidc not in icons]
    if missing:
        raise ValueError(f"no icon for SIDC {missing[0]} (and {len(missing) - 1} more)")
    kml = write_kml(
        tracks,
        overlays,
        picture=picture,
        classification=classification,
        icon_href=icon_path,
        hot_spots=hot_spots,
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _add(archive, "doc.kml", kml, zipfile.ZIP_DEFLATED)
        for sidc in sidcs:
            # PNG is compressed already: storing it costs nothing and inflates nothing.
            _add(archive, icon_path(sidc), icons[sidc], zipfile.ZIP_STORED)
    return buffer.getvalue()


def icon_path(sidc: str) -> str:
    """Where a KMZ keeps a SIDC's icon, relative to ``doc.kml``."""
    return f"icons/{sidc}.png"


def used_sidcs(tracks: Iterable[Track], overlays: Iterable[Overlay]) -> list[str]:
    """Every SIDC drawn as an icon: each track's and each point overlay's, sorted."""
    sidcs = {track.sidc for track in tracks}
    sidcs |= {o.sidc for o in overlays if o.sidc is not None and o.kind is OverlayKind.POINT}
    return sorted(sidcs)


def _track_placemark(folder: etree._Element, track: Track) -> None:
    fields = _track_fields(track)
    placemark = _sub(folder, "Placemark")
    _text(placemark, "name", track.name or track.subject or track.id)
    _text(placemark, "description", _html_lines(fields))
    # When the track was last updated, for viewers that show time (its status, with the
    # rest, is in ExtendedData): a receiving system can tell a stale track from a live one.
    if track.valid_until is None:
        _text(_sub(placemark, "TimeStamp"), "when", _time(track.updated_at))
    else:
        # Held: shown from its last update until its hold ends.
        span = _sub(placemark, "TimeSpan")
        _text(span, "begin", _time(track.updated_at))
        _text(span, "end", _time(track.valid_until))
    _text(placemark, "styleUrl", "#" + _style_id(track.sidc))
    _extended_data(placemark, fields)
    position = track.position
    point = [position.lon, position.lat] + ([position.alt] if position.alt is not None else [])
    _geometry(placemark, {"type": "Point", "coordinates": point})


def _track_fields(track: Track) -> list[tuple[str, Any]]:
    return [
        ("id", track.id),
        ("subject", track.subject),
        ("parent", track.parent),
        ("sidc", track.sidc),
        ("identity", track.identity.value),
        ("identity_confidence", f"{track.identity_confidence:.2f}"),
        ("status", track.status.value),
        ("grading", track.grading.code),
        ("course", None if track.velocity is None else repr(track.velocity.course)),
        ("speed", None if track.velocity is None else repr(track.velocity.speed)),
        *_label_fields(track.label),
        ("updated_at", _time(track.updated_at)),
        ("valid_until", None if track.valid_until is None else _time(track.valid_until)),
        ("report_count", track.report_count),
        ("mgrs", mgrs_ref(track.position.lat, track.position.lon)),
    ]


def _overlay_placemark(folder: etree._Element, overlay: Overlay) -> None:
    placemark = _sub(folder, "Placemark")
    _text(placemark, "name", overlay.name)
    if overlay.remarks:
        # Escaped once for HTML, so remarks are shown as written, never run as markup.
        _text(placemark, "description", html.escape(overlay.remarks, quote=False))
    if overlay.valid_from is not None or overlay.valid_to is not None:
        span = _sub(placemark, "TimeSpan")
        if overlay.valid_from is not None:
            _text(span, "begin", _time(overlay.valid_from))
        if overlay.valid_to is not None:
            _text(span, "end", _time(overlay.valid_to))
    if overlay.sidc is not None and overlay.kind is OverlayKind.POINT:
        _text(placemark, "styleUrl", "#" + _style_id(overlay.sidc))
    _extended_data(placemark, _overlay_fields(overlay))
    _geometry(placemark, overlay_geometry(overlay))


def _overlay_fields(overlay: Overlay) -> list[tuple[str, Any]]:
    updated = None if overlay.updated_at is None else _time(overlay.updated_at)
    return [
        ("id", overlay.id),
        ("kind", overlay.kind.value),
        ("radius_m", overlay.radius_m),
        ("width_m", overlay.width_m),
        ("sidc", overlay.sidc),
        ("mgrs", overlay_mgrs(overlay)),
        *_label_fields(overlay.label),
        ("author", overlay.author or None),
        ("updated_at", updated),
    ]


def overlay_mgrs(overlay: Overlay) -> str | None:
    """A point's or a circle's centre's grid reference (other shapes have many)."""
    if overlay.kind not in (OverlayKind.POINT, OverlayKind.CIRCLE):
        return None
    lon, lat = overlay.coordinates[0][:2]
    return mgrs_ref(lat, lon)


def _label_fields(label: Label) -> list[tuple[str, Any]]:
    return [
        ("classification", label.classification),
        ("releasable_to", " ".join(label.releasable_to) or None),
    ]


def _geometry(parent: etree._Element, geometry: dict[str, Any]) -> None:
    kind, coordinates = geometry["type"], geometry["coordinates"]
    if kind == "Point":
        _positions(_sub(parent, "Point"), [coordinates])
    elif kind == "LineString":
        line = _sub(parent, "LineString")
        _text(line, "tessellate", "1")  # follow the ground, not a straight chord
        _positions(line, coordinates)
    else:
        polygon = _sub(parent, "Polygon")
        _text(polygon, "tessellate", "1")
        ring = _sub(_sub(polygon, "outerBoundaryIs"), "LinearRing")
        _positions(ring, coordinates[0])


def _positions(parent: etree._Element, points: Sequence[Sequence[float]]) -> None:
    if any(len(point) > 2 for point in points):
        _text(parent, "altitudeMode", "absolute")
    tuples = (",".join(_number(value) for value in point) for point in points)
    _text(parent, "coordinates", " ".join(tuples))


def _icon_style(document: etree._Element, sidc: str, href: str, hot_spot: HotSpot | None) -> None:
    style = _sub(document, "Style", id=_style_id(sidc))
    icon_style = _sub(style, "IconStyle")
    _text(_sub(icon_style, "Icon"), "href", href)
    if hot_spot is not None:
        # Fractions, not pixels: right whatever size a viewer scales the icon to.
        x, y = (_number(value) for value in hot_spot)
        _sub(icon_style, "hotSpot", x=x, y=y, xunits="fraction", yunits="fraction")


def _folder(document: etree._Element, name: str) -> etree._Element:
    folder = _sub(document, "Folder")
    _text(folder, "name", name)
    return folder


def _extended_data(parent: etree._Element, fields: list[tuple[str, Any]]) -> None:
    data = _sub(parent, "ExtendedData")
    for name, value in fields:
        if value is not None:
            _text(_sub(data, "Data", name=name), "value", str(value))


def _html_lines(fields: list[tuple[str, Any]]) -> str:
    """A placemark balloon: one ``name: value`` line per field, each value escaped."""
    lines = [
        f"{_SPOKEN.get(name, name)}: {html.escape(str(value))}"
        for name, value in fields
        if value is not None
    ]
    return "<br/>".join(lines)


def _style_id(sidc: str) -> str:
    return f"sidc-{sidc}"


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _number(value: float) -> str:
    # Fixed notation: KML readers are not all sure to accept exponents.
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _sub(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, _K + tag, attributes)


def _text(parent: etree._Element, tag: str, text: str) -> None:
    # Control characters (most of which XML 1.0 cannot carry at all) are replaced rather
    # than failing the whole export.
    _sub(parent, tag).text = without_control_characters(text, "\ufffd")


def _add(archive: zipfile.ZipFile, name: str, data: bytes, method: int) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = method
    info.external_attr = 0o644 << 16  # a plain readable file on every unpacker
    archive.writestr(info, data)
