"""A track as the picture shows it, built from its record and its row of the arrays."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import msgspec

from tessera.core.fusion import imm
from tessera.core.fusion.arrays import COASTING, CONFIRMED, STATUS_CODES, TrackArrays
from tessera.core.fusion.geo import course_speed, moved
from tessera.core.fusion.motion import ProfileTable
from tessera.core.fusion.record import TrackRecord
from tessera.core.model import Label, Position, Source, Track, Velocity, shown_subject
from tessera.core.symbols import generic_sidc, with_identity


def shown_ce(arrays: TrackArrays, profiles: ProfileTable, row: int) -> float:
    """The 1-sigma radial error (the root of both axes' variances), grown from the state's
    time to the time the sweep last grew it to: a silent track says how old it is."""
    # (One list of the row's covariance: reading its elements one by one from the array
    # costs more than the arithmetic.)
    (c00, _, c02, _), (_, c11, _, c13), (_, _, c22, _), (_, _, _, c33) = arrays.cov[row].tolist()
    dt = max(arrays.shown_at.item(row) - arrays.t.item(row), 0.0)
    q = profiles.q.item(arrays.motion.item(row)) * (
        1.0 - arrays.model_probs.item(row, 0) * (1.0 - imm.STEADY_Q_FACTOR)
    )
    radial = c00 + c11 + 2.0 * dt * (c02 + c13) + dt * dt * (c22 + c33) + 2.0 * q * dt**3 / 3.0
    return math.sqrt(max(radial, 0.0))


def shown_position(arrays: TrackArrays, profiles: ProfileTable, row: int) -> Position:
    """Where a track is shown, with its shown error (the sweep grows both as it ages)."""
    lat, lon = arrays.lat.item(row), arrays.lon.item(row)
    if arrays.status.item(row) in (CONFIRMED, COASTING):
        # Shown where it is now by its own motion, as its error is grown to now; a stale
        # track no longer claims that, and stays where it was last seen.
        ahead = max(arrays.shown_at.item(row) - arrays.t.item(row), 0.0)
        if ahead > 0.0:
            east, north = arrays.vel.item(row, 0), arrays.vel.item(row, 1)
            lat, lon = moved(lat, lon, east * ahead, north * ahead)
    return Position(lat=lat, lon=lon, alt=None, ce=max(shown_ce(arrays, profiles, row), 0.1))


def track_snapshot(record: TrackRecord, arrays: TrackArrays, profiles: ProfileTable) -> Track:
    row = record.row
    identity, confidence = record.belief.estimate()
    sidc = record.sidc or generic_sidc(identity)
    east, north = arrays.vel.item(row, 0), arrays.vel.item(row, 1)
    velocity = Velocity(*course_speed(east, north)) if math.hypot(east, north) > 0.0 else None
    held = arrays.held_until.item(row)
    shown = shown_position(arrays, profiles, row)
    return Track(
        id=record.id,
        position=shown if record.alt is None else msgspec.structs.replace(shown, alt=record.alt),
        velocity=velocity,
        identity=identity,
        identity_confidence=round(confidence, 4),
        sidc=with_identity(sidc, identity),
        status=STATUS_CODES[arrays.status.item(row)],
        first_at=record.first_at,
        updated_at=datetime.fromtimestamp(arrays.t.item(row), UTC),
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
