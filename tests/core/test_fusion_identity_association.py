"""What a report says a thing is weighs on which track it joins, and on what that track
is shown to be."""

from __future__ import annotations

import numpy as np
import pytest

from tessera.core.fusion import identity_gate
from tessera.core.fusion.association import GatedPairs
from tessera.core.fusion.identity import IdentityBelief
from tessera.core.model import Grading, Identity
from tests.core.fusion_support import feed, report, tracker, unit_report

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


def test_pair_by_pair_and_all_at_once_weigh_identity_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Tracks of every kind of belief: none yet, sighted hostile, sighted friendly, and a
    # unit's own (declared); reports of every statement, each paired with every track.
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
    table = engine.table
    rows = sorted(record.row for record in table.records.values())
    statements = [
        report(at=3.0, identity=identity, grading=grading)
        for identity in (Identity.FRIEND, Identity.HOSTILE, Identity.PENDING, Identity.NEUTRAL)
        for grading in ("A1", "C3", "F6")
    ]
    pairs = [(index, row) for index in range(len(statements)) for row in rows]
    gated = GatedPairs(
        np.array([index for index, _ in pairs], dtype=np.intp),
        np.array([row for _, row in pairs], dtype=np.intp),
        np.linspace(0.5, 6.0, len(pairs)),
        np.linspace(0.1, 9.0, len(pairs)),
    )
    monkeypatch.setattr(identity_gate, "_FLOAT_PAIRS", 10**6)
    by_pair = identity_gate.with_identity(gated, statements, table)
    monkeypatch.setattr(identity_gate, "_FLOAT_PAIRS", 0)
    at_once = identity_gate.with_identity(gated, statements, table)
    assert 0 < by_pair.report.size < gated.report.size
    assert by_pair.report.tolist() == at_once.report.tolist()
    assert by_pair.row.tolist() == at_once.row.tolist()
    assert by_pair.cost == pytest.approx(at_once.cost, rel=1e-12)
    assert by_pair.distance2 == pytest.approx(at_once.distance2, rel=1e-12)
