"""The first fusion engine: association, lifecycle on the journal clock, lineage, identity."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.core.fusion.geo import moved
from tessera.core.fusion.identity import IdentityBelief
from tessera.core.fusion.motion import PROFILES, MotionClass
from tessera.core.fusion.tracker import NearestNeighbourTracker, TrackerSettings
from tessera.core.labels import ClassificationScheme
from tessera.core.model import (
    Grading,
    Identity,
    Label,
    Position,
    Report,
    Source,
    SourceKind,
    Track,
    TrackStatus,
)

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
SERIAL = itertools.count()
HOSTILE_VEHICLE = "10061500001201000000"


def report(
    *,
    at: float,
    lat: float = 53.0,
    lon: float = 18.0,
    ce: float = 30.0,
    subject: str | None = None,
    kind: SourceKind = SourceKind.UAV,
    source: str = "uav-1",
    identity: Identity = Identity.HOSTILE,
    grading: str = "B2",
    label: Label | None = None,
    received_after: float = 0.5,
    sidc: str | None = HOSTILE_VEHICLE,
) -> Report:
    observed = T0 + timedelta(seconds=at)
    if sidc is not None and identity is not Identity.HOSTILE:
        sidc = None
    return Report(
        id=f"r{next(SERIAL):06d}",
        source=Source(source, kind),
        observed_at=observed,
        received_at=observed + timedelta(seconds=received_after),
        position=Position(lat, lon, None, ce),
        subject=subject,
        identity=identity,
        sidc=sidc,
        grading=Grading.parse(grading),
        label=label or Label("UNCLASSIFIED"),
    )


def unit_report(*, at: float, lat: float = 53.0) -> Report:
    return report(
        at=at,
        lat=lat,
        ce=10,
        subject="bn-1",
        kind=SourceKind.UNIT,
        source="bn-1",
        identity=Identity.FRIEND,
    )


def tracker(**overrides: float | int) -> NearestNeighbourTracker:
    return NearestNeighbourTracker(ClassificationScheme(), TrackerSettings(**overrides))  # type: ignore[arg-type]


def feed(engine: NearestNeighbourTracker, reports: Sequence[Report]) -> None:
    for item in reports:
        assert item.received_at is not None
        engine.step(item.received_at, [item])


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def only(engine: NearestNeighbourTracker) -> Track:
    tracks = list(engine.tracks())
    assert len(tracks) == 1, tracks
    return tracks[0]


def test_keyed_reports_update_their_subject_track_confirmed_at_once() -> None:
    engine = tracker()
    feed(engine, [unit_report(at=0), unit_report(at=5, lat=53.0003)])
    track = only(engine)
    assert track.id == "sub-bn-1"
    assert track.status is TrackStatus.CONFIRMED
    assert (track.identity, track.identity_confidence) == (Identity.FRIEND, 1.0)
    assert track.lineage[-1] != track.lineage[0]
    # A hostile sighting right on top of the unit neither joins it nor changes its identity.
    feed(engine, [report(at=6, lat=53.0003)])
    tracks = {t.id: t for t in engine.tracks()}
    assert len(tracks) == 2
    assert tracks["sub-bn-1"].identity is Identity.FRIEND


def test_anonymous_reports_within_their_error_make_one_track() -> None:
    engine = tracker()
    lat, lon = moved(53.0, 18.0, 20.0, -15.0)
    feed(engine, [report(at=0), report(at=10, lat=lat, lon=lon)])
    track = only(engine)
    assert track.report_count == 2
    assert track.status is TrackStatus.CONFIRMED, "two reports, one from a reliable source"


def test_a_report_outside_the_gate_starts_another_track() -> None:
    engine = tracker()
    lat, lon = moved(53.0, 18.0, 2_000.0, 0.0)
    feed(engine, [report(at=0), report(at=1, lat=lat, lon=lon)])
    assert len(list(engine.tracks())) == 2


def test_the_gate_uses_each_reports_own_error() -> None:
    lat, lon = moved(53.0, 18.0, 400.0, 0.0)
    precise = tracker()
    feed(precise, [report(at=0, ce=20), report(at=1, lat=lat, lon=lon, ce=20)])
    assert len(list(precise.tracks())) == 2
    vague = tracker()
    feed(vague, [report(at=0, ce=20), report(at=1, lat=lat, lon=lon, ce=300, grading="C3")])
    assert len(list(vague.tracks())) == 1


def test_unreliable_reports_need_more_evidence_to_confirm() -> None:
    engine = tracker()
    rumours = [report(at=i, grading="E5", source=f"osint-{i}", ce=500) for i in range(3)]
    feed(engine, rumours[:2])
    assert only(engine).status is TrackStatus.TENTATIVE
    feed(engine, rumours[2:])
    assert only(engine).status is TrackStatus.CONFIRMED


def test_tracks_coast_die_and_drop_on_the_journal_clock_only() -> None:
    engine = tracker(drop_dead_after=60.0)
    feed(engine, [report(at=0), report(at=1)])
    profile = PROFILES[MotionClass.WHEELED]
    engine.step(at(profile.coast_after - 5), [])
    assert only(engine).status is TrackStatus.CONFIRMED
    result = engine.step(at(profile.coast_after + 5), [])
    assert [t.status for t in result.updated] == [TrackStatus.COASTING]
    result = engine.step(at(profile.dead_after + 5), [])
    assert [t.status for t in result.updated] == [TrackStatus.DEAD]
    result = engine.step(at(profile.dead_after + 70), [])
    assert result.removed == [only_id(result.removed)]
    assert list(engine.tracks()) == []


def only_id(ids: list[str]) -> str:
    assert len(ids) == 1
    return ids[0]


def test_a_tentative_track_dies_when_not_confirmed_in_time() -> None:
    engine = tracker()
    feed(engine, [report(at=0, grading="E5")])
    engine.step(at(PROFILES[MotionClass.WHEELED].coast_after + 5), [])
    assert only(engine).status is TrackStatus.DEAD


def test_air_tracks_age_faster_than_ground_tracks() -> None:
    engine = tracker()
    air = "10060100001101000000"
    feed(engine, [report(at=0, sidc=air), report(at=1, sidc=air)])
    engine.step(at(PROFILES[MotionClass.AIR].coast_after + 5), [])
    assert only(engine).status is TrackStatus.COASTING


def test_lineage_is_bounded_but_the_count_is_not() -> None:
    engine = tracker(lineage_window=5)
    reports = [report(at=i) for i in range(12)]
    feed(engine, reports)
    track = only(engine)
    assert track.lineage == tuple(r.id for r in reports[-5:])
    assert track.report_count == 12


def test_a_track_is_labelled_with_the_highest_level_and_common_communities() -> None:
    engine = tracker()
    feed(
        engine,
        [
            report(at=0, label=Label("RESTRICTED", ("NATO", "UKR"))),
            report(at=1, label=Label("SECRET", ("NATO",))),
        ],
    )
    assert only(engine).label == Label("SECRET", ("NATO",))


def test_a_late_report_joins_the_lineage_without_moving_the_track() -> None:
    engine = tracker()
    feed(engine, [report(at=100), report(at=110)])
    before = only(engine)
    late = report(at=30, received_after=85, lat=53.0001)
    feed(engine, [late])
    after = only(engine)
    assert after.position == before.position
    assert after.updated_at == before.updated_at
    assert after.lineage[-1] == late.id


def test_identity_belief_follows_the_gradings() -> None:
    belief = IdentityBelief()
    belief.observe(Identity.HOSTILE, Grading.parse("B2"))
    first, first_confidence = belief.estimate()
    assert first is Identity.SUSPECT
    belief.observe(Identity.HOSTILE, Grading.parse("B2"))
    second, second_confidence = belief.estimate()
    assert second is Identity.HOSTILE
    assert second_confidence > first_confidence
    belief.observe(Identity.UNKNOWN, Grading.parse("A1"))
    belief.observe(Identity.PENDING, Grading.parse("A1"))
    assert belief.estimate() == (second, second_confidence)

    def moved_by(grading: str) -> float:
        start = IdentityBelief()
        start.observe(Identity.HOSTILE, Grading.parse("B2"))
        before = start.posterior()[2]
        start.observe(Identity.FRIEND, Grading.parse(grading))
        return before - start.posterior()[2]

    assert moved_by("A1") > moved_by("C3") > moved_by("E5")


def test_a_self_report_pins_identity() -> None:
    belief = IdentityBelief()
    for _ in range(5):
        belief.observe(Identity.HOSTILE, Grading.parse("A1"))
    belief.pin(Identity.FRIEND)
    assert belief.estimate() == (Identity.FRIEND, 1.0)


# -- determinism --------------------------------------------------------------------------


def scenario_reports(seed: int) -> list[Report]:
    """Two columns, a unit, some rumours and a late report, in journal order."""
    rows: list[Report] = []
    for step in range(40):
        for column in range(2):
            lat, lon = moved(53.0 + column * 0.05, 18.0, 8.0 * step * 5, 0.0)
            rows.append(report(at=step * 5, lat=lat, lon=lon, grading="BC"[column] + "2"))
        rows.append(
            report(
                at=step * 5 + 1,
                subject="bn-9",
                kind=SourceKind.UNIT,
                source="bn-9",
                identity=Identity.FRIEND,
                lat=52.9,
            )
        )
        if (step + seed) % 7 == 0:
            rows.append(report(at=step * 5 + 2, lat=53.2, grading="F6", ce=800))
    rows.append(report(at=20, received_after=180, lat=53.0))
    return sorted(rows, key=lambda r: (r.received_at or T0, r.id))


@given(seed=st.integers(0, 6), cuts=st.lists(st.integers(1, 170), max_size=12))
@settings(max_examples=40, deadline=None)
def test_the_same_journal_gives_the_same_picture_in_any_batches(seed: int, cuts: list[int]) -> None:
    journal = scenario_reports(seed)
    one_by_one = tracker()
    feed(one_by_one, journal)
    batched = tracker()
    bounds = [0, *sorted(set(cuts)), len(journal)]
    for start, end in itertools.pairwise(bounds):
        batch = journal[start:end]
        if batch:
            assert batch[-1].received_at is not None
            batched.step(batch[-1].received_at, batch)
    assert list(batched.tracks()) == list(one_by_one.tracks())
