"""Declarations: a report that says how long it holds keeps its track until then, with
the identity it states; afterwards the track ages, and its identity is weighed, as any."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec

from tessera.core.fusion.engine import KalmanTracker
from tessera.core.fusion.motion import PROFILES, MotionClass
from tessera.core.model import Identity, Report, SourceKind, TrackStatus
from tests.core.fusion_support import T0, at, feed, only, report, tracker

HOLD_S = 3_600.0
WHEELED = PROFILES[MotionClass.WHEELED]  # what the hostile vehicle symbol moves as


def declared(
    *, at: float = 0.0, hold: float = HOLD_S, status: TrackStatus | None = None, **fields: Any
) -> Report:
    """A headquarters' hostile unit, ungraded, as an import states it."""
    base = report(
        at=at,
        source="hq-nvg",
        kind=SourceKind.SYSTEM,
        grading="F6",
        **fields,
    )
    until = base.observed_at + timedelta(seconds=hold)
    return msgspec.structs.replace(base, valid_until=until, status=status)


def tick(engine: KalmanTracker, seconds: float) -> None:
    engine.step(at(seconds), [])


def test_a_held_track_neither_coasts_nor_dies_until_its_validity_ends_then_ages() -> None:
    assert WHEELED.dead_after + 300.0 < HOLD_S, "the hold outlasts the usual drop time"
    engine = tracker()
    feed(engine, [declared()])
    for seconds in range(60, int(HOLD_S), 60):
        tick(engine, seconds)
        track = only(engine)
        assert track.status is TrackStatus.CONFIRMED, seconds
        assert track.valid_until == T0 + timedelta(seconds=HOLD_S)
    tick(engine, HOLD_S - 0.5)
    assert only(engine).status is TrackStatus.CONFIRMED
    # Its validity ended: from here it is as old as its last report, so dead at once...
    tick(engine, HOLD_S + 1)
    track = only(engine)
    assert track.status is TrackStatus.DEAD
    assert track.valid_until is None
    # ... and dropped as any dead track is.
    tick(engine, HOLD_S + 1 + 301)
    assert list(engine.tracks()) == []


def test_without_a_validity_the_same_report_is_a_tentative_sighting_soon_dropped() -> None:
    engine = tracker()
    feed(engine, [msgspec.structs.replace(declared(), valid_until=None)])
    track = only(engine)
    assert (track.status, track.identity) == (TrackStatus.TENTATIVE, Identity.UNKNOWN)
    tick(engine, WHEELED.dead_after + 400.0)
    assert list(engine.tracks()) == []


def test_a_declared_identity_is_taken_as_stated_with_its_grading() -> None:
    engine = tracker()
    feed(engine, [declared(subject="nvg:3-bn")])
    track = only(engine)
    assert (track.identity, track.grading.code) == (Identity.HOSTILE, "F6")
    assert track.identity_confidence == 0.55, "what an F source's statement is worth"
    assert track.status is TrackStatus.CONFIRMED
    # Reliable sightings of the same subject saying otherwise do not vote it down...
    sightings = [
        report(at=t, subject="nvg:3-bn", identity=Identity.NEUTRAL, grading="A1", sidc=None)
        for t in (10.0, 20.0, 30.0)
    ]
    feed(engine, sightings)
    assert only(engine).identity is Identity.HOSTILE
    assert only(engine).grading.code == "F6"
    # ... until the declaration's validity ends: then the belief weighs everything said.
    feed(
        engine,
        [
            report(
                at=HOLD_S - 10,
                subject="nvg:3-bn",
                identity=Identity.NEUTRAL,
                grading="A1",
                sidc=None,
                received_after=5,
            )
        ],
    )
    tick(engine, HOLD_S + 1)
    track = only(engine)
    assert track.identity is Identity.NEUTRAL
    assert track.status is TrackStatus.CONFIRMED


def test_the_belief_alone_would_vote_the_same_reports_otherwise() -> None:
    engine = tracker()
    undeclared = msgspec.structs.replace(declared(subject="nvg:3-bn"), valid_until=None)
    sightings = [
        report(at=t, subject="nvg:3-bn", identity=Identity.NEUTRAL, grading="A1", sidc=None)
        for t in (10.0, 20.0, 30.0)
    ]
    feed(engine, [undeclared, *sightings])
    assert only(engine).identity is Identity.NEUTRAL


def test_a_newer_declaration_replaces_the_hold_and_the_identity() -> None:
    engine = tracker()
    first = declared(subject="nvg:3-bn")
    second = declared(at=60.0, hold=600.0, subject="nvg:3-bn", identity=Identity.SUSPECT)
    feed(engine, [first, second])
    track = only(engine)
    assert track.identity is Identity.SUSPECT
    assert track.valid_until == T0 + timedelta(seconds=660.0)
    tick(engine, 659.0)
    assert only(engine).status is TrackStatus.CONFIRMED
    # Past the newer hold's end it ages from its last report, ten minutes before.
    tick(engine, 661.0)
    assert only(engine).valid_until is None
    assert only(engine).status in (TrackStatus.STALE, TrackStatus.DEAD)


def test_a_late_declaration_still_holding_starts_a_track() -> None:
    long_ago = -(WHEELED.dead_after + 1_000.0)
    late = declared(at=long_ago, hold=-long_ago + HOLD_S, received_after=-long_ago)
    engine = tracker()
    feed(engine, [late])
    track = only(engine)
    assert (track.status, track.identity) == (TrackStatus.CONFIRMED, Identity.HOSTILE)
    # The same report, saying nothing of how long it holds, is too old to start one.
    engine = tracker()
    feed(engine, [msgspec.structs.replace(late, valid_until=None)])
    assert list(engine.tracks()) == []
    assert engine.stats.too_old == 1


def test_a_declaration_already_ended_is_a_sighting() -> None:
    engine = tracker()
    ended = declared(hold=1.0, received_after=5.0)
    feed(engine, [ended])
    track = only(engine)
    assert (track.status, track.identity, track.valid_until) == (
        TrackStatus.TENTATIVE,
        Identity.UNKNOWN,
        None,
    )


def test_a_declared_status_is_the_tracks_until_its_validity_ends() -> None:
    engine = tracker()
    feed(engine, [declared(subject="nvg:3-bn", status=TrackStatus.DEAD)])
    track = only(engine)
    assert (track.status, track.identity) == (TrackStatus.DEAD, Identity.HOSTILE)
    # Held: neither dropped as a dead track is, nor taken for live by the sweep.
    for seconds in range(60, int(HOLD_S), 600):
        tick(engine, seconds)
        assert only(engine).status is TrackStatus.DEAD, seconds
    # Its validity ended: it is dropped, as any dead track long dead.
    tick(engine, HOLD_S + 1)
    assert list(engine.tracks()) == []


def test_each_stated_status_is_taken_and_a_newer_declaration_replaces_it() -> None:
    for status in TrackStatus:
        engine = tracker()
        feed(engine, [declared(subject="nvg:3-bn", status=status)])
        assert only(engine).status is status
        tick(engine, 600.0)
        assert only(engine).status is status, "held as stated"
    engine = tracker()
    feed(engine, [declared(subject="nvg:3-bn", status=TrackStatus.DEAD)])
    feed(engine, [declared(at=60.0, subject="nvg:3-bn")])
    assert only(engine).status is TrackStatus.CONFIRMED, "the newer states nothing: live"
    # An older declaration coming later is not the one in force: its status is not taken.
    feed(engine, [declared(at=30.0, subject="nvg:3-bn", status=TrackStatus.DEAD)])
    assert only(engine).status is TrackStatus.CONFIRMED


def test_a_sightings_status_field_is_not_a_statement() -> None:
    engine = tracker()
    sighting = msgspec.structs.replace(
        declared(status=TrackStatus.DEAD), valid_until=None, status=TrackStatus.DEAD
    )
    feed(engine, [sighting])
    assert only(engine).status is TrackStatus.TENTATIVE
