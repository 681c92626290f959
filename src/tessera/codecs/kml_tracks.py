"""Tracks back out of the KML or KMZ Tessera writes (`kml_write`): what another Tessera, or
a tool of the receiving system, reads of each track placemark.

A track placemark is a Placemark with a Point whose ExtendedData names an ``identity`` and
a ``status`` (overlays carry a ``kind`` instead and are `kml_read`'s). Its name, identity,
status, SIDC, grading, label, last update (the TimeStamp, else ``updated_at``) and position
come back; a field that is there but wrong fails the file with a KmlError naming the line.
Parsed with the same hardened parser and limits as `kml_read`. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import msgspec
from lxml import etree

from tessera.codecs.kml_read import (
    KML_NAMESPACES,
    MAX_BYTES,
    MAX_OVERLAYS,
    KmlError,
    kml_root,
)
from tessera.core.model import Grading, Identity, Label, Position, TrackStatus


class KmlTrack(msgspec.Struct, frozen=True, kw_only=True):
    """One track as a KML file tells it."""

    id: str
    name: str
    identity: Identity
    status: TrackStatus
    position: Position
    sidc: str | None = None
    grading: Grading | None = None
    label: Label | None = None
    updated_at: datetime | None = None


def read_kml_tracks(data: bytes, *, max_bytes: int = MAX_BYTES) -> tuple[KmlTrack, ...]:
    """Every track placemark of a KML or KMZ file, in document order."""
    root = kml_root(data, max_bytes=max_bytes)
    tracks: list[KmlTrack] = []
    for placemark, fields in _track_placemarks(root):
        if len(tracks) >= MAX_OVERLAYS:
            raise KmlError(f"document: more than {MAX_OVERLAYS} tracks")
        tracks.append(_track(placemark, fields))
    return tuple(tracks)


def _track_placemarks(root: etree._Element) -> Iterator[tuple[etree._Element, dict[str, str]]]:
    for placemark in root.iter():
        if _local(placemark) != "Placemark" or not _is_kml(placemark):
            continue
        fields = _data_fields(placemark)
        if "identity" in fields and "status" in fields and _child(placemark, "Point") is not None:
            yield placemark, fields


def _data_fields(placemark: etree._Element) -> dict[str, str]:
    extended = _child(placemark, "ExtendedData")
    if extended is None:
        return {}
    fields: dict[str, str] = {}
    for data in extended:
        name = data.get("name")
        value = _child(data, "value") if _local(data) == "Data" else None
        if name and value is not None:
            fields[name] = (value.text or "").strip()
    return fields


def _track(placemark: etree._Element, fields: dict[str, str]) -> KmlTrack:
    where = f"line {placemark.sourceline}: Placemark"
    name = _child(placemark, "name")
    try:
        identity = Identity(fields["identity"])
        status = TrackStatus(fields["status"])
        grading = Grading.parse(fields["grading"]) if "grading" in fields else None
    except ValueError as exc:
        raise KmlError(f"{where}: {exc}") from None
    stamp = _child(placemark, "TimeStamp")
    when = None if stamp is None else _child(stamp, "when")
    updated = (when.text or "") if when is not None else fields.get("updated_at", "")
    return KmlTrack(
        id=fields.get("id", ""),
        name=" ".join((name.text or "").split()) if name is not None else "",
        identity=identity,
        status=status,
        position=_position(placemark, where),
        sidc=fields.get("sidc"),
        grading=grading,
        label=_label(fields, where),
        updated_at=_instant(updated, where) if updated.strip() else None,
    )


def _position(placemark: etree._Element, where: str) -> Position:
    point = _child(placemark, "Point")
    coordinates = None if point is None else _child(point, "coordinates")
    text = "" if coordinates is None else (coordinates.text or "").strip()
    try:
        values = [float(value) for value in text.split(",")]
        if len(values) not in (2, 3):
            raise ValueError(text)
        alt = values[2] if len(values) == 3 else None
        return msgspec.convert({"lat": values[1], "lon": values[0], "alt": alt}, Position)
    except (ValueError, msgspec.ValidationError):
        raise KmlError(f"{where}: Point: {text[:40]!r} is not lon,lat[,alt]") from None


def _label(fields: dict[str, str], where: str) -> Label | None:
    if "classification" not in fields:
        return None
    releasable = tuple(fields.get("releasable_to", "").split())
    try:
        return msgspec.convert(
            {"classification": fields["classification"], "releasable_to": releasable}, Label
        )
    except msgspec.ValidationError as exc:
        raise KmlError(f"{where}: label: {exc}") from None


def _instant(text: str, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise KmlError(f"{where}: {text.strip()[:40]!r} is not a KML time") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    return next((child for child in parent if _local(child) == name and _is_kml(child)), None)


def _local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _is_kml(element: etree._Element) -> bool:
    tag = element.tag
    return isinstance(tag, str) and (etree.QName(tag).namespace or "") in KML_NAMESPACES
