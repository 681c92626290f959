"""What a report says a thing is weighs on which track it joins, and on what that track
is shown to be."""

from __future__ import annotations

import math
from datetime import timedelta

import msgspec
import numpy as np
import pytest

from tessera.core.fusion import identity_gate
from tessera.core.fusion.association import GatedPairs
from tessera.core.fusion.checkpoint import decode_tracker, encode_tracker
from tessera.core.fusion.engine import KalmanTracker
from tessera.core.fusion.gating import GATE_CHI2
from tessera.core.fusion.identity import IdentityBelief
from tessera.core.model import Grading, Identity
from tests.core.fusion_support import T0, feed, report, tracker, unit_report

# 0.0008 degrees of latitude: about 89 m, inside the gate of a track three 30 m reports
# made, but not by much.
NEAR_EDGE = 0.0008


def test_many_unknowns_outweigh_a_few_side_statements() -> None:
    # A drone that names the side of what it sees says "unknown" of this thing; three
    # reports of a hostile neighbour that joined its track must not make it hostile.
    belief = IdentityBelief()
    for _ in range(10):
        belief.observe(Identity.UNKNOWN, Grading.parse("B2"))
    for _ in range(3):
        belief.observe(Identity.HOSTILE, Grading.parse("B2"))
    assert belief.estimate()[0] is Identity.UNKNOWN


def test_side_statements_outweigh_a_few_unknowns() -> None:
    belief = IdentityBelief()
    for _ in range(10):
        belief.observe(Identity.HOSTILE, Grading.parse("B2"))
    for _ in range(3):
        belief.observe(Identity.UNKNOWN, Grading.parse("B2"))
    assert belief.estimate()[0] is Identity.HOSTILE


def test_a_late_friendly_report_does_not_join_a_hostile_track() -> None:
    # The same late report at the same place: stating hostile it joins the hostile track
    # seen there when it was observed; stating friend it is about something else.
    for identity, tracks in ((Identity.HOSTILE, 1), (Identity.FRIEND, 2)):
        engine = tracker()
        hostile = [report(at=t) for t in (0, 1, 2)]
        late = report(
            at=2,
            source="sat-1",
            lat=53.0 + NEAR_EDGE,
            identity=identity,
            received_after=200,
            sidc=None,
        )
        feed(engine, [*hostile, late])
        shown = list(engine.tracks())
        assert len(shown) == tracks, identity
        holder = next(track for track in shown if hostile[0].id in track.lineage)
        assert (late.id in holder.lineage) is (identity is Identity.HOSTILE)
        assert holder.identity is Identity.HOSTILE


def test_a_friend_at_the_very_place_still_joins_and_shakes_the_belief() -> None:
    engine = tracker()
    feed(engine, [report(at=t) for t in (0, 1, 2)])
    feed(engine, [report(at=3, identity=Identity.FRIEND, grading="A2", sidc=None)])
    (track,) = engine.tracks()
    assert track.report_count == 4


def test_an_unknown_sighting_by_a_friendly_unit_is_not_taken_for_the_unit() -> None:
    # The unit declares itself friendly; a drone that says it cannot tell what it sees is
    # seeing something else, however close.
    engine = tracker()
    feed(engine, [unit_report(at=0), unit_report(at=1)])
    sighting = report(at=1.5, lat=53.00005, identity=Identity.UNKNOWN, sidc=None)
    feed(engine, [sighting, unit_report(at=2)])
    unit = next(track for track in engine.tracks() if track.subject is not None)
    assert sighting.id not in unit.lineage
    assert len(list(engine.tracks())) == 2


def _tracks_of_every_belief() -> KalmanTracker:
    """Tracks of every kind of belief: none yet, sighted hostile, sighted friendly, and a
    unit's own (declared)."""
    engine = tracker()
    sightings = [
        (Identity.UNKNOWN, "uav-1"),
        (Identity.HOSTILE, "uav-2"),
        (Identity.FRIEND, "uav-3"),
        (Identity.SUSPECT, "uav-4"),
    ]
    for k, (identity, source) in enumerate(sightings):
        feed(engine, [report(at=1.0, lat=53.0 + 0.05 * k, identity=identity, source=source)])
    feed(engine, [unit_report(at=2.0, lat=53.5)])
    return engine


def test_identity_is_weighed_from_the_arrays_as_from_each_track_belief() -> None:
    # Reports of every statement, each paired with every track: the weighing reads the
    # beliefs the arrays mirror, and must come out as each record's own belief says.
    engine = _tracks_of_every_belief()
    table = engine.table
    rows = sorted(record.row for record in table.records.values())
    statements = [
        report(at=3.0, identity=identity, grading=grading)
        for identity in (Identity.FRIEND, Identity.HOSTILE, Identity.PENDING, Identity.NEUTRAL)
        for grading in ("A1", "C3", "F6")
    ]
    said = [identity_gate.statement_of(statement) for statement in statements]
    pairs = [(index, row) for index in range(len(statements)) for row in rows]
    gated = GatedPairs(
        np.array([index for index, _ in pairs], dtype=np.intp),
        np.array([row for _, row in pairs], dtype=np.intp),
        np.linspace(0.5, 6.0, len(pairs)),
        np.linspace(0.1, 9.0, len(pairs)),
    )
    weighed = identity_gate.with_identity(
        gated,
        np.array([statement.likelihood for statement in said]),
        np.array([statement.unbelieved for statement in said]),
        table.arrays,
        GATE_CHI2,
    )
    expected: list[tuple[int, int, float, float]] = []
    for at, (index, row) in enumerate(pairs):
        cost, distance2 = float(gated.cost[at]), float(gated.distance2[at])
        likelihood, unbelieved = said[index]
        if unbelieved == 0.0:
            expected.append((index, row, cost, distance2))
            continue
        belief = table.record_at(row).belief
        ratio = sum(p * q for p, q in zip(belief.weighed(), likelihood, strict=True))
        ratio /= unbelieved
        if belief.authoritative is not None and ratio < 1.0:
            continue
        penalty = -2.0 * math.log(max(ratio, math.ulp(1.0)))
        if distance2 + max(penalty, 0.0) <= GATE_CHI2:
            expected.append((index, row, cost + penalty, distance2 + penalty))
    assert 0 < len(expected) < len(pairs)
    assert weighed.report.tolist() == [index for index, _, _, _ in expected]
    assert weighed.row.tolist() == [row for _, row, _, _ in expected]
    assert weighed.cost == pytest.approx([cost for _, _, cost, _ in expected], rel=1e-12)
    assert weighed.distance2 == pytest.approx([d2 for _, _, _, d2 in expected], rel=1e-12)


def _assert_beliefs_mirrored(engine: KalmanTracker) -> None:
    arrays = engine.table.arrays
    for record in engine.table.records.values():
        assert arrays.belief[record.row].tolist() == list(record.belief.weighed()), record.id
        assert bool(arrays.declared[record.row]) is (record.belief.authoritative is not None)


def test_the_arrays_mirror_every_belief_through_sightings_declarations_and_restore() -> None:
    # Sightings move beliefs, declarations pin them (a unit's own for good, an imported
    # file's until its validity ends, which gives it up); a restored checkpoint mirrors
    # them all again.
    engine = _tracks_of_every_belief()
    _assert_beliefs_mirrored(engine)
    feed(engine, [report(at=5.0, lat=53.05, identity=Identity.HOSTILE, source="uav-3")])
    imported = report(at=6.0, lat=53.8, identity=Identity.FRIEND, source="hq-file")
    imported = msgspec.structs.replace(imported, valid_until=T0 + timedelta(seconds=60))
    feed(engine, [imported])
    _assert_beliefs_mirrored(engine)
    arrays = engine.table.arrays
    held = next(r for r in engine.table.records.values() if imported.id in r.lineage).row
    assert arrays.declared[held] == 1
    engine.flush(T0.timestamp() + 90.0)
    assert arrays.declared[held] == 0
    assert any(arrays.declared)  # (the unit's own declaration holds for good)
    _assert_beliefs_mirrored(engine)
    restored = decode_tracker(encode_tracker(engine), engine.scheme, engine.settings)
    _assert_beliefs_mirrored(restored)
