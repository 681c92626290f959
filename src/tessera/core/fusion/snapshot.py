"""A track as the picture shows it, built from its record and its row of the arrays.

In two steps: what the record and the row hold (``TrackParts``, plain values, cheap to
take and to send to another process), then the track built from them (``track_of``),
so `tessera fuse`'s picture writer can take the second step in a process of its own.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import msgspec

from tessera.core.fusion import imm
from tessera.core.fusion.arrays import COASTING, CONFIRMED, STATUS_CODES, TrackArrays
from tessera.core.fusion.geo import course_speed, moved
from tessera.core.fusion.motion import ProfileTable
from tessera.core.fusion.record import TrackRecord
from tessera.core.model import (
    Grading,
    Identity,
    Label,
    Position,
    Source,
    SourceKind,
    Track,
    Velocity,
    shown_subject,
)
from tessera.core.symbols import generic_sidc, with_identity


class ShownRow(msgspec.Struct, array_like=True, frozen=True):
    """What a track's row of the arrays says of where it is, and of its error: the
    position and velocity of its state, the state's time and the time its shown error
    is grown to, its status code, its hold's end (if it is held), the covariance entries
    its error is grown from, and the process noise it grows by."""

    lat: float
    lon: float
    east: float
    north: float
    t: float
    shown_at: float
    status: int
    held_until: float | None
    c00: float
    c11: float
    c02: float
    c13: float
    c22: float
    c33: float
    q: float


def shown_row(arrays: TrackArrays, profiles: ProfileTable, row: int) -> ShownRow:
    # (One list of the row's covariance: reading its elements one by one from the array
    # costs more than the arithmetic.)
    (c00, _, c02, _), (_, c11, _, c13), (_, _, c22, _), (_, _, _, c33) = arrays.cov[row].tolist()
    held = arrays.held_until.item(row)
    q = profiles.q.item(arrays.motion.item(row)) * (
        1.0 - arrays.model_probs.item(row, 0) * (1.0 - imm.STEADY_Q_FACTOR)
    )
    return ShownRow(
        arrays.lat.item(row),
        arrays.lon.item(row),
        arrays.vel.item(row, 0),
        arrays.vel.item(row, 1),
        arrays.t.item(row),
        arrays.shown_at.item(row),
        arrays.status.item(row),
        None if math.isnan(held) else held,
        c00,
        c11,
        c02,
        c13,
        c22,
        c33,
        q,
    )


def shown_ce(row: ShownRow) -> float:
    """The 1-sigma radial error (the root of both axes' variances), grown from the state's
    time to the time the sweep last grew it to: a silent track says how old it is."""
    dt = max(row.shown_at - row.t, 0.0)
    radial = (
        row.c00
        + row.c11
        + 2.0 * dt * (row.c02 + row.c13)
        + dt * dt * (row.c22 + row.c33)
        + 2.0 * row.q * dt**3 / 3.0
    )
    return math.sqrt(max(radial, 0.0))


def shown_position(row: ShownRow) -> Position:
    """Where a track is shown, with its shown error (the sweep grows both as it ages)."""
    lat, lon = row.lat, row.lon
    if row.status in (CONFIRMED, COASTING):
        # Shown where it is now by its own motion, as its error is grown to now; a stale
        # track no longer claims that, and stays where it was last seen.
        ahead = max(row.shown_at - row.t, 0.0)
        if ahead > 0.0:
            lat, lon = moved(lat, lon, row.east * ahead, row.north * ahead)
    return Position(lat=lat, lon=lon, alt=None, ce=max(shown_ce(row), 0.1))


class TrackParts(msgspec.Struct, array_like=True, frozen=True):
    """What a track is built from: its record's values, and its row's (``ShownRow``)."""

    id: str
    subject: str | None
    alt: float | None
    first_at: datetime
    sidc: str | None
    quantity: int | None
    name: str | None
    parent: str | None
    grading: Grading
    label_level: str
    label_rel: tuple[str, ...]
    sources: tuple[tuple[str, SourceKind], ...]
    lineage: tuple[str, ...]
    count: int
    identity: Identity
    confidence: float
    row: ShownRow


def track_parts(record: TrackRecord, arrays: TrackArrays, profiles: ProfileTable) -> TrackParts:
    identity, confidence = record.belief.estimate()
    return TrackParts(
        record.id,
        record.subject,
        record.alt,
        record.first_at,
        record.sidc,
        record.quantity,
        record.name,
        record.parent,
        record.grading,
        record.label_level,
        tuple(sorted(record.label_rel)),
        tuple(record.sources.items()),
        tuple(record.lineage),
        record.count,
        identity,
        confidence,
        shown_row(arrays, profiles, record.row),
    )


def track_of(parts: TrackParts) -> Track:
    row = parts.row
    identity = parts.identity
    sidc = parts.sidc or generic_sidc(identity)
    east, north = row.east, row.north
    velocity = Velocity(*course_speed(east, north)) if math.hypot(east, north) > 0.0 else None
    held = row.held_until
    shown = shown_position(row)
    return Track(
        id=parts.id,
        position=shown if parts.alt is None else msgspec.structs.replace(shown, alt=parts.alt),
        velocity=velocity,
        identity=identity,
        identity_confidence=round(parts.confidence, 4),
        sidc=with_identity(sidc, identity),
        status=STATUS_CODES[row.status],
        first_at=parts.first_at,
        updated_at=datetime.fromtimestamp(row.t, UTC),
        # As people name it: a sender's own subject keeps its scope in the track's id.
        subject=None if parts.subject is None else shown_subject(parts.subject),
        quantity=parts.quantity,
        grading=parts.grading,
        label=Label(parts.label_level, parts.label_rel),
        sources=tuple(Source(id=sid, kind=kind) for sid, kind in parts.sources),
        lineage=parts.lineage,
        report_count=parts.count,
        name=parts.name,
        parent=None if parts.parent is None else shown_subject(parts.parent),
        valid_until=None if held is None else datetime.fromtimestamp(held, UTC),
    )


def track_snapshot(record: TrackRecord, arrays: TrackArrays, profiles: ProfileTable) -> Track:
    return track_of(track_parts(record, arrays, profiles))
