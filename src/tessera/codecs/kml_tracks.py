"""Tracks back out of the KML or KMZ Tessera writes (`kml_write`): what another Tessera, or
a tool of the receiving system, reads of each track placemark, and the report an import
makes of it.

A track placemark is a Placemark with a Point whose ExtendedData names an ``identity`` and
a ``status`` (overlays carry a ``kind`` instead and are `kml_read`'s). Its name, identity,
status, SIDC, grading, label, course and speed, last update (the TimeStamp, else the
TimeSpan's begin, else ``updated_at``), how long it holds (the TimeSpan's end, else
``valid_until``) and position come back; a field that is there but wrong fails the file
with a KmlError naming the line. Parsed with the same hardened parser and limits as
`kml_read`. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

import msgspec
from lxml import etree

from tessera.codecs.cot_reports import safe_identifier
from tessera.codecs.kml_tree import MAX_BYTES, KmlError, child, is_kml, kml_root, local
from tessera.core.model import (
    Grading,
    Identity,
    Label,
    Position,
    Report,
    Source,
    SourceKind,
    TrackStatus,
    Velocity,
    bounded_hold,
)
from tessera.core.symbols import sidc_problem
from tessera.core.text import without_control_characters

MAX_TRACKS: Final = 10_000
MAX_NAME: Final = 256


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
    valid_until: datetime | None = None
    velocity: Velocity | None = None


def read_kml_tracks(data: bytes, *, max_bytes: int = MAX_BYTES) -> tuple[KmlTrack, ...]:
    """Every track placemark of a KML or KMZ file, in document order."""
    root = kml_root(data, max_bytes=max_bytes)
    tracks: list[KmlTrack] = []
    for placemark in root.iter():
        fields = track_fields(placemark)
        if fields is None:
            continue
        if len(tracks) >= MAX_TRACKS:
            raise KmlError(f"document: more than {MAX_TRACKS} tracks")
        tracks.append(kml_track(placemark, fields))
    return tuple(tracks)


def track_fields(element: etree._Element) -> dict[str, str] | None:
    """A track placemark's ExtendedData fields; None for anything else."""
    if local(element) != "Placemark" or not is_kml(element) or child(element, "Point") is None:
        return None
    fields = _data_fields(element)
    return fields if "identity" in fields and "status" in fields else None


def track_report(
    track: KmlTrack, *, label: Label, now: datetime, new_id: Callable[[], str]
) -> Report:
    """The report an import makes of a track placemark: a system's statement of where its
    subject (the exporting picture's track) is, with the identity and status it gives,
    dated by its last update (never after ``now``)."""
    key = track.id or track.name
    subject = safe_identifier(f"kml:{key}") if key else None
    observed = min(track.updated_at or now, now)
    until = track.valid_until
    return Report(
        id=new_id(),
        source=Source(id=subject or "kml-import", kind=SourceKind.SYSTEM),
        observed_at=observed,
        valid_until=None if until is None else bounded_hold(observed, until),
        position=track.position,
        velocity=track.velocity,
        subject=subject,
        identity=track.identity,
        sidc=track.sidc,
        grading=track.grading or Grading("F", 6),
        label=label,
        name=track.name or None,
        status=track.status,
    )


def _data_fields(placemark: etree._Element) -> dict[str, str]:
    extended = child(placemark, "ExtendedData")
    if extended is None:
        return {}
    fields: dict[str, str] = {}
    for data in extended:
        name = data.get("name")
        value = child(data, "value") if local(data) == "Data" else None
        if name and value is not None:
            fields[name] = (value.text or "").strip()
    return fields


def kml_track(placemark: etree._Element, fields: dict[str, str]) -> KmlTrack:
    """A track placemark (``fields``: its ExtendedData, from ``track_fields``)."""
    where = f"line {placemark.sourceline}: Placemark"
    name = child(placemark, "name")
    try:
        identity = Identity(fields["identity"])
        status = TrackStatus(fields["status"])
        grading = Grading.parse(fields["grading"]) if "grading" in fields else None
    except ValueError as exc:
        raise KmlError(f"{where}: {exc}") from None
    sidc = fields.get("sidc")
    if sidc is not None and (problem := sidc_problem(sidc)):
        raise KmlError(f"{where}: sidc: {problem}")
    begin, end = _span(placemark)
    stamp = child(placemark, "TimeStamp")
    when = None if stamp is None else child(stamp, "when")
    updated = (when.text or "") if when is not None else begin or fields.get("updated_at", "")
    until = end or fields.get("valid_until", "")
    text = without_control_characters(name.text or "") if name is not None else ""
    return KmlTrack(
        id=fields.get("id", ""),
        name=" ".join(text.split())[:MAX_NAME],
        identity=identity,
        status=status,
        position=_position(placemark, where),
        sidc=sidc,
        grading=grading,
        label=_label(fields, where),
        updated_at=_instant(updated, where) if updated.strip() else None,
        valid_until=_instant(until, where) if until.strip() else None,
        velocity=_velocity(fields, where),
    )


def _span(placemark: etree._Element) -> tuple[str, str]:
    span = child(placemark, "TimeSpan")
    if span is None:
        return "", ""
    begin, end = child(span, "begin"), child(span, "end")
    return (
        "" if begin is None else (begin.text or "").strip(),
        "" if end is None else (end.text or "").strip(),
    )


def _position(placemark: etree._Element, where: str) -> Position:
    point = child(placemark, "Point")
    coordinates = None if point is None else child(point, "coordinates")
    text = "" if coordinates is None else (coordinates.text or "").strip()
    try:
        values = [float(value) for value in text.split(",")]
        if len(values) not in (2, 3):
            raise ValueError(text)
        alt = values[2] if len(values) == 3 else None
        return msgspec.convert({"lat": values[1], "lon": values[0], "alt": alt}, Position)
    except (ValueError, msgspec.ValidationError):
        raise KmlError(f"{where}: Point: {text[:40]!r} is not lon,lat[,alt]") from None


def _velocity(fields: dict[str, str], where: str) -> Velocity | None:
    if "course" not in fields or "speed" not in fields:
        return None
    try:
        course, speed = float(fields["course"]), float(fields["speed"])
        return msgspec.convert({"course": course, "speed": speed}, Velocity)
    except (ValueError, msgspec.ValidationError):
        said = f"{fields['course'][:20]!r}, {fields['speed'][:20]!r}"
        raise KmlError(f"{where}: course, speed: {said} are not degrees and m/s") from None


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
