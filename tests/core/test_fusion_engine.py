"""The fusion engine: association, lifecycle on the journal clock, lineage, identity."""

from __future__ import annotations

import itertools
import math

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.core.fusion import imm
from tessera.core.fusion.geo import moved, offset_metres
from tessera.core.fusion.motion import PROFILES, MotionClass
from tessera.core.model import Identity, Label, Report, SourceKind, TrackStatus, Velocity
from tests.core.fusion_support import T0, at, feed, only, report, tracker, unit_report


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


def test_two_sources_seeing_one_thing_at_once_start_one_track_at_the_weighted_mean() -> None:
    engine = tracker()
    lat, lon = moved(53.0, 18.0, 30.0, 0.0)
    first = report(at=0, source="uav-1")
    second = report(at=0, lat=lat, lon=lon, source="patrol-2", kind=SourceKind.HUMAN)
    feed(engine, [first, second], cuts=[2])
    track = only(engine)
    # Equal errors: the track sits halfway, with half of either report's variance.
    east, north = offset_metres(53.0, 18.0, track.position.lat, track.position.lon)
    assert (round(east, 6), round(north, 6)) == (15.0, 0.0)
    per_axis = (30.0 * 1.2) ** 2 / 2
    assert (
        track.position.ce == round((2 * per_axis / 2) ** 0.5, 6)
        or abs(track.position.ce - (2 * per_axis / 2) ** 0.5) < 1e-6
    )
    assert track.report_count == 2


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


def test_ambiguous_reports_are_assigned_jointly() -> None:
    engine = tracker()
    west = [report(at=t, source="uav-1", ce=15) for t in (0, 2, 4)]
    b_lat, b_lon = moved(53.0, 18.0, 100.0, 0.0)
    east = [report(at=t, lat=b_lat, lon=b_lon, source="uav-2", ce=15) for t in (0, 2, 4)]
    feed(engine, sorted([*west, *east], key=lambda r: (r.received_at or T0, r.id)), cuts=[2, 4])
    ids = {t.id for t in engine.tracks()}
    assert len(ids) == 2
    # Both reports are nearer the east track; nearest-neighbour would give it the first
    # and start a third track from the second. Jointly, each track gets one.
    r1_lat, r1_lon = moved(53.0, 18.0, 45.0, 0.0)
    r2_lat, r2_lon = moved(53.0, 18.0, 115.0, 0.0)
    first = report(at=6, lat=r1_lat, lon=r1_lon, source="uav-3", ce=15)
    second = report(at=6, lat=r2_lat, lon=r2_lon, source="uav-3", ce=15)
    feed(engine, [first, second], cuts=[2])
    tracks = {t.id: t for t in engine.tracks()}
    assert set(tracks) == ids
    owner = {rid: tid for tid, t in tracks.items() for rid in t.lineage}
    assert owner[first.id] == owner[west[0].id]
    assert owner[second.id] == owner[east[0].id]


def test_unreliable_reports_need_more_evidence_to_confirm() -> None:
    engine = tracker()
    rumours = [report(at=i, grading="E5", source=f"osint-{i}", ce=500) for i in range(3)]
    feed(engine, rumours[:2])
    assert only(engine).status is TrackStatus.TENTATIVE
    feed(engine, rumours[2:])
    assert only(engine).status is TrackStatus.CONFIRMED


def test_tracks_coast_die_and_drop_on_the_journal_clock_only() -> None:
    engine = tracker(drop_dead_after=60.0)
    feed(engine, [report(at=0, ce=10), report(at=1, ce=10)])
    profile = PROFILES[MotionClass.TRACKED]
    engine.step(at(profile.coast_after - 5), [])
    assert only(engine).status is TrackStatus.CONFIRMED
    seen: list[tuple[float, TrackStatus | None]] = []
    errors: list[float] = []
    for second in range(int(profile.coast_after), int(profile.dead_after) + 120, 5):
        result = engine.step(at(second), [])
        seen += [(second, t.status) for t in result.updated]
        errors += [t.position.ce for t in result.updated]
        seen += [(second, None) for _ in result.removed]
    # While silent, the track is shown again every so often, its uncertainty grown.
    changes = [seen[0]] + [b for a, b in itertools.pairwise(seen) if a[1] != b[1]]
    statuses = [status for _, status in changes]
    # (Stale on the way, where its age passes its kind's trust before it grows vague.)
    assert statuses in (
        [TrackStatus.COASTING, TrackStatus.DEAD, None],
        [TrackStatus.COASTING, TrackStatus.STALE, TrackStatus.DEAD, None],
    )
    assert len(seen) > len(changes)
    assert errors == sorted(errors) and errors[0] < errors[-1]
    died = changes[-2][0]
    assert died <= profile.dead_after + 5, "dead by age at the latest, sooner if vague"
    assert changes[-1][0] - died in range(60, 70)
    assert list(engine.tracks()) == []


def test_a_coasting_track_dies_when_it_no_longer_says_where_anything_is() -> None:
    engine = tracker()
    # Two vague reports: confirmed, but with a wide error that grows fast while silent.
    feed(engine, [report(at=0, ce=2_000, sidc=None), report(at=1, ce=2_000, sidc=None)])
    wheeled = PROFILES[MotionClass.WHEELED]
    # Unknown velocity: up to half the top speed per axis, so silent it soon says nothing.
    vague_after = wheeled.max_sd / (wheeled.max_speed / 2)
    assert vague_after + 60 < wheeled.dead_after
    engine.step(at(vague_after + 60), [])
    assert only(engine).status is TrackStatus.DEAD


def test_a_tentative_track_dies_when_not_confirmed_in_time() -> None:
    engine = tracker()
    feed(engine, [report(at=0, grading="E5")])
    engine.step(at(PROFILES[MotionClass.TRACKED].tentative_for + 5), [])
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


def test_identity_moves_with_the_gradings_of_the_reports() -> None:
    engine = tracker()
    feed(engine, [report(at=0, grading="B2"), report(at=1, grading="B2")])
    confident = only(engine).identity_confidence
    feed(engine, [report(at=2, identity=Identity.FRIEND, grading="E5", sidc=None)])
    shaken = only(engine).identity_confidence
    feed(engine, [report(at=3, identity=Identity.FRIEND, grading="A2", sidc=None)])
    overturned = only(engine)
    assert only(engine).report_count == 4
    assert confident > shaken, "an unreliable contrary report shakes the belief a little"
    assert overturned.identity is not Identity.HOSTILE, "a reliable one overturns it"


# -- late reports -------------------------------------------------------------------------


def test_a_slightly_late_report_still_updates_its_track() -> None:
    engine = tracker()
    feed(engine, [report(at=0, ce=20), report(at=10, ce=20)])
    before = only(engine)
    lat, lon = moved(53.0, 18.0, 20.0, 0.0)
    late = report(at=8, lat=lat, lon=lon, ce=20, received_after=4, source="uav-2")
    feed(engine, [late])
    after = only(engine)
    assert after.lineage[-1] == late.id
    assert after.position != before.position, "a short lag still moves the track"
    assert after.updated_at == before.updated_at, "but never back in time"
    assert engine.stats.late_updates == 1


def test_a_vehicle_turning_sharply_keeps_its_track() -> None:
    # Ten minutes east at 8 m/s, then north: the fixes after the turn fall ever further from
    # where the track's motion says; the filter must follow them, not start another track.
    # Its steady motion model holds on the straight, the manoeuvring one takes over in
    # the turn, and the steady one again once it goes straight on.
    engine = tracker()
    steady: dict[int, float] = {}
    for step in range(0, 900, 5):
        east, north = (8.0 * step, 0.0) if step < 600 else (4_800.0, 8.0 * (step - 600))
        wiggle = ((step // 5) % 4 - 1.5) * 20.0
        lat, lon = moved(53.0, 18.0, east + wiggle, north - wiggle)
        feed(engine, [report(at=step, lat=lat, lon=lon, ce=40)])
        row = next(iter(engine.table.records.values())).row
        steady[step] = float(engine.table.arrays.model_probs[row, imm.STEADY])
    assert min(steady[step] for step in range(300, 600, 5)) > 0.9
    assert min(steady[step] for step in range(600, 660, 5)) < 0.5
    assert steady[895] > 0.9
    track = only(engine)
    assert track.report_count == 180
    assert track.velocity is not None
    assert abs((track.velocity.course + 180.0) % 360.0 - 180.0) < 20.0, "going north"
    lat, lon = moved(53.0, 18.0, 4_800.0, 8.0 * 295)
    east, north = offset_metres(lat, lon, track.position.lat, track.position.lon)
    assert math.hypot(east, north) < 60.0


def _late_spot_reports(seconds: int) -> list[Report]:
    """A vehicle going east at 8 m/s, seen every 5 s by patrols whose spot reports (no
    velocity, 40 m error) each arrive 60 to 180 s after the sighting, out of order."""
    lags = itertools.cycle((60.0, 170.0, 95.0, 140.0, 75.0, 180.0, 120.0))
    errors = itertools.cycle(((90.0, -60.0), (-105.0, 75.0), (30.0, 120.0), (-45.0, -120.0)))
    reports = []
    for step in range(0, seconds, 5):
        east, north = next(errors)
        lat, lon = moved(53.0, 18.0, 8.0 * step + east, north)
        reports.append(
            report(
                at=step,
                lat=lat,
                lon=lon,
                ce=120,
                kind=SourceKind.HUMAN,
                source=f"patrol-{step % 3}",
                received_after=next(lags),
            )
        )
    return sorted(reports, key=lambda item: item.received_at or item.observed_at)


def test_late_spot_reports_alone_give_a_track_its_velocity() -> None:
    # Each report is older than the track's state when it arrives; compared with where the
    # track was at its time, it still teaches the filter how fast the thing goes. Letting
    # only fixes up to 30 s older than the track correct it learns less from the same.
    rms: dict[float, float] = {}
    for update_lag in (300.0, 30.0):
        engine = tracker(update_lag=update_lag)
        errors = []
        for index, late in enumerate(_late_spot_reports(600)):
            feed(engine, [late])
            velocity = only(engine).velocity
            if index >= 40:  # (from the fourth minute on)
                assert velocity is not None
                east = velocity.speed * math.sin(math.radians(velocity.course))
                north = velocity.speed * math.cos(math.radians(velocity.course))
                errors.append(math.hypot(east - 8.0, north))
        rms[update_lag] = math.sqrt(sum(error * error for error in errors) / len(errors))
        assert engine.stats.late_updates > 0
    assert rms[300.0] < 0.75, rms
    assert rms[300.0] < 0.7 * rms[30.0], rms


def test_a_late_report_joins_the_lineage_without_moving_the_track() -> None:
    engine = tracker()
    feed(engine, [report(at=400), report(at=410)])
    before = only(engine)
    # Seen more than update_lag (300 s) before the track's state: it only confirms.
    late = report(at=30, received_after=385, lat=53.0001)
    feed(engine, [late])
    after = only(engine)
    assert after.position == before.position
    assert after.updated_at == before.updated_at
    assert after.lineage[-1] == late.id


def test_an_hour_late_report_is_placed_where_the_track_was_then() -> None:
    engine = tracker()
    moving = Velocity(90.0, 8.0)
    path = []
    for step in range(0, 3_700, 10):
        lat, lon = moved(53.0, 18.0, 8.0 * step, 0.0)
        path.append(report(at=step, lat=lat, lon=lon, ce=15, velocity=moving))
    feed(engine, path, cuts=list(range(0, len(path), 7)))
    now = only(engine)
    # Seen by imagery at 600 s, delivered an hour later: 24 km behind the track today.
    lat, lon = moved(53.0, 18.0, 8.0 * 600 + 20.0, 0.0)
    imagery = report(
        at=600,
        lat=lat,
        lon=lon,
        ce=40,
        kind=SourceKind.SATELLITE,
        source="sat-1",
        received_after=3_100,
    )
    feed(engine, [imagery])
    track = only(engine)
    assert track.lineage[-1] == imagery.id
    assert track.position == now.position
    assert engine.stats.late_confirmations == 1


def test_a_report_too_old_for_its_kind_starts_nothing() -> None:
    engine = tracker()
    stale = report(at=0, received_after=PROFILES[MotionClass.TRACKED].dead_after + 60)
    feed(engine, [stale])
    assert list(engine.tracks()) == []
    assert engine.stats.too_old == 1


# -- determinism --------------------------------------------------------------------------


def scenario_reports(seed: int) -> list[Report]:
    """Two columns, a unit, some rumours and late reports, in journal order."""
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
    rows.append(report(at=60, received_after=10, lat=53.05, source="patrol-1"))
    return sorted(rows, key=lambda r: (r.received_at or T0, r.id))


@given(
    seed=st.integers(0, 6),
    cuts=st.lists(st.integers(1, 170), max_size=12),
    window=st.sampled_from([0.02, 1.0, 5.0]),
)
@settings(max_examples=30, deadline=None)
def test_the_same_journal_gives_the_same_picture_in_any_batches(
    seed: int, cuts: list[int], window: float
) -> None:
    journal = scenario_reports(seed)
    one_by_one = tracker(batch_seconds=window)
    feed(one_by_one, journal)
    batched = tracker(batch_seconds=window)
    feed(batched, journal, cuts=cuts or [len(journal)])
    assert list(batched.tracks()) == list(one_by_one.tracks())
    assert batched.stats == one_by_one.stats


@given(seed=st.integers(0, 6), reads=st.lists(st.integers(0, 170), max_size=20))
@settings(max_examples=20, deadline=None)
def test_kinematic_steps_give_the_same_picture_whenever_they_run(
    seed: int, reads: list[int]
) -> None:
    """The updater defers Kalman steps until the tracks are read; reading after every
    report (each step run at once) or only now and then gives the same picture."""
    journal = scenario_reports(seed)
    eager = tracker(batch_seconds=0.000001)
    lazy = tracker(batch_seconds=0.000001)
    for index, item in enumerate(journal):
        eager.feed([item])
        list(eager.tracks())
        lazy.feed([item])
        if index in reads:
            list(lazy.tracks())
    end = (journal[-1].received_at or T0).timestamp()
    eager.flush(end)
    lazy.flush(end)
    assert list(lazy.tracks()) == list(eager.tracks())
    assert lazy.stats == eager.stats


def test_batches_are_windows_of_received_time_not_of_feeding() -> None:
    journal = scenario_reports(3)
    whole = tracker()
    feed(whole, journal, cuts=[len(journal)])
    pairs = tracker()
    feed(pairs, journal, cuts=list(range(0, len(journal), 2)))
    assert list(whole.tracks()) == list(pairs.tracks())


def retraction(*, at: float, subject: str) -> Report:
    return msgspec.structs.replace(
        report(at=at, subject=subject, kind=SourceKind.HUMAN, source="patrol-2"),
        retraction=True,
    )


def test_a_retraction_drops_its_subjects_track_and_only_that() -> None:
    engine = tracker()
    marker = report(at=0, subject="mark-m", kind=SourceKind.HUMAN, source="patrol-2")
    feed(engine, [marker, unit_report(at=0.5), report(at=1, subject="mark-n")])
    assert {t.id for t in engine.tracks()} == {"sub-mark-m", "sub-bn-1", "sub-mark-n"}
    withdrawn = retraction(at=2, subject="mark-m")
    assert withdrawn.received_at is not None
    assert engine.step(withdrawn.received_at, [withdrawn]).removed == ["sub-mark-m"]
    assert {t.id for t in engine.tracks()} == {"sub-bn-1", "sub-mark-n"}
    assert engine.stats.retracted == 1
    # What is said of the subject afterwards starts a track anew; a retraction of what
    # fusion does not hold changes nothing.
    feed(engine, [report(at=3, subject="mark-m"), retraction(at=4, subject="never-seen")])
    assert {t.id for t in engine.tracks()} == {"sub-bn-1", "sub-mark-n", "sub-mark-m"}
    assert next(t for t in engine.tracks() if t.id == "sub-mark-m").report_count == 1


def test_a_retraction_in_the_batch_of_its_subjects_reports_drops_them_too() -> None:
    engine = tracker(batch_seconds=10.0)
    reports = [
        report(at=0, subject="mark-m"),
        report(at=1, subject="mark-m", lat=53.0001),
        retraction(at=2, subject="mark-m"),
    ]
    engine.step(at(30), reports)
    assert list(engine.tracks()) == []
