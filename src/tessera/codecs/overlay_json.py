"""Overlays as clients send them to /api/v1/overlays, and as the journal stores them.

Strict like reports: unknown fields, a shape that does not suit its kind, a malformed SIDC
or an unknown classification are errors naming the field. The label may be left out and
then comes from the sender's default; with none, the overlay is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import msgspec

from tessera.codecs.errors import JSON_DECODE_ERRORS, DecodeError, FieldError, json_field_error
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Identifier, Label, Remarks, Sidc, Timestamp
from tessera.core.overlays import (
    MAX_VERTICES,
    Coordinate,
    Overlay,
    OverlayKind,
    OverlayName,
    OverlayRevision,
    Radius,
    Width,
    geometry_problems,
)
from tessera.core.symbols import sidc_problem, symbol_set

Coordinates = tuple[Coordinate, ...]
CONTROL_MEASURES: Final = "25"  # APP-6(D) symbol set of control measures


class OverlayDoc(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An overlay as a client sends it: ``id`` (on create) and ``label`` may be left out;
    ``author`` and ``updated_at`` are the server's to set."""

    id: Identifier | None = None
    name: OverlayName
    kind: OverlayKind
    coordinates: Coordinates
    radius_m: Radius | None = None
    width_m: Width | None = None
    sidc: Sidc | None = None
    remarks: Remarks = ""
    valid_from: Timestamp | None = None
    valid_to: Timestamp | None = None
    label: Label | None = None


class OverlayCodec:
    def __init__(self, scheme: ClassificationScheme) -> None:
        self._scheme = scheme
        self._decoder = msgspec.json.Decoder(OverlayDoc)

    def decode(
        self,
        data: bytes,
        *,
        overlay_id: str,
        author: str,
        default_label: Label | None,
    ) -> Overlay:
        """Decode one overlay; raise DecodeError listing every problem."""
        try:
            doc = self._decoder.decode(data)
        except JSON_DECODE_ERRORS as exc:
            raise DecodeError([json_field_error(exc, data)]) from None
        if doc.id is not None and doc.id != overlay_id:
            raise DecodeError([FieldError(None, "id", "differs from the overlay's id")])
        problems: list[tuple[str, str]] = []
        if len(doc.coordinates) > MAX_VERTICES:
            problems.append(("coordinates", f"more than {MAX_VERTICES} positions"))
        if not doc.coordinates:
            problems.append(("coordinates", "needs at least one position"))
        if doc.sidc is not None and (problem := sidc_problem(doc.sidc)):
            problems.append(("sidc", problem))
        elif doc.sidc is not None and symbol_set(doc.sidc) != CONTROL_MEASURES:
            problems.append(("sidc", "an overlay's symbol is a control measure (symbol set 25)"))
        label = doc.label or default_label
        if label is None:
            problems.append(("label", "is required: give one, or set a default for the sender"))
        elif label.classification not in self._scheme:
            problems.append(("label.classification", f"must be one of {self._levels()}"))
        if problems or label is None:
            raise DecodeError([FieldError(None, field, reason) for field, reason in problems])
        overlay = Overlay(
            id=overlay_id,
            name=doc.name,
            kind=doc.kind,
            coordinates=_closed(doc.kind, doc.coordinates),
            radius_m=doc.radius_m,
            width_m=doc.width_m,
            sidc=doc.sidc,
            remarks=doc.remarks,
            valid_from=_utc(doc.valid_from),
            valid_to=_utc(doc.valid_to),
            label=Label(label.classification, tuple(sorted(set(label.releasable_to)))),
            author=author,
        )
        shape = geometry_problems(overlay)
        if shape:
            raise DecodeError([FieldError(None, field, reason) for field, reason in shape])
        return overlay

    def _levels(self) -> str:
        return ", ".join(self._scheme.levels)


def _closed(kind: OverlayKind, coordinates: Coordinates) -> Coordinates:
    # Clients often send an area's ring open; closing it loses nothing.
    if kind is OverlayKind.AREA and len(coordinates) >= 3 and coordinates[0] != coordinates[-1]:
        return (*coordinates, coordinates[0])
    return coordinates


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


_revision_decoder = msgspec.json.Decoder(OverlayRevision)


def decode_stored_revision(data: bytes) -> OverlayRevision:
    """Decode an overlay revision that Tessera itself encoded (from the journal)."""
    return _revision_decoder.decode(data)
