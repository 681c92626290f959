"""A track as the picture shows it, built from its record and its row of the arrays."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from tessera.core.fusion.arrays import STATUS_CODES, TrackArrays
from tessera.core.fusion.geo import course_speed
from tessera.core.fusion.record import TrackRecord
from tessera.core.model import Label, Position, Source, Track, Velocity, shown_subject
from tessera.core.symbols import generic_sidc, with_identity


def track_snapshot(record: TrackRecord, arrays: TrackArrays) -> Track:
    row = record.row
    identity, confidence = record.belief.estimate()
    sidc = record.sidc or generic_sidc(identity)
    east, north = float(arrays.vel[row, 0]), float(arrays.vel[row, 1])
    velocity = Velocity(*course_speed(east, north)) if math.hypot(east, north) > 0.0 else None
    # ce is the 1-sigma radial error: the root of both axes' variances.
    ce = math.sqrt(max(float(arrays.cov[row, 0, 0] + arrays.cov[row, 1, 1]), 0.0))
    held = float(arrays.held_until[row])
    return Track(
        id=record.id,
        position=Position(
            lat=float(arrays.lat[row]), lon=float(arrays.lon[row]), alt=record.alt, ce=max(ce, 0.1)
        ),
        velocity=velocity,
        identity=identity,
        identity_confidence=round(confidence, 4),
        sidc=with_identity(sidc, identity),
        status=STATUS_CODES[int(arrays.status[row])],
        first_at=record.first_at,
        updated_at=datetime.fromtimestamp(float(arrays.t[row]), UTC),
        # As people name it: a sender's own subject keeps its scope in the track's id.
        subject=None if record.subject is None else shown_subject(record.subject),
        quantity=record.quantity,
        grading=record.grading,
        label=Label(record.label_level, tuple(sorted(record.label_rel))),
        sources=tuple(Source(id=sid, kind=kind) for sid, kind in record.sources.items()),
        lineage=tuple(record.lineage),
        report_count=record.count,
        name=record.name,
        parent=None if record.parent is None else shown_subject(record.parent),
        valid_until=None if math.isnan(held) else datetime.fromtimestamp(held, UTC),
    )
