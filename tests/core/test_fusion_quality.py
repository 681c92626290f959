"""Fusion quality: scans kept whole across micro-batches, stale tracks shown as stale,
sparse objects confirmed by their next spot report, silent tracks found again."""

from __future__ import annotations

import random

from tessera.core.fusion.engine import KalmanTracker
from tessera.core.fusion.geo import moved
from tessera.core.fusion.motion import PROFILES, MotionClass
from tessera.core.model import SourceKind, TrackStatus, Velocity
from tests.core.fusion_support import at, feed, only, report, tracker

TRACKED = PROFILES[MotionClass.TRACKED]


def drive_east(engine: KalmanTracker, speed: float) -> None:
    """Three reports a second apart of one vehicle driving east at ``speed`` m/s."""
    velocity = Velocity(90.0, speed)
    feed(
        engine,
        [
            report(at=t, lat=lat, lon=lon, ce=20, velocity=velocity)
            for t, (lat, lon) in enumerate(moved(53.0, 18.0, speed * t, 0.0) for t in range(3))
        ],
    )


def test_a_scan_split_across_micro_batches_gives_each_track_one_report() -> None:
    engine = tracker()
    east = moved(53.0, 18.0, 60.0, 0.0)
    for t in (0, 2, 4):
        feed(engine, [report(at=t, ce=15), report(at=t, lat=east[0], lon=east[1], ce=15)])
    before = {track.id for track in engine.tracks()}
    assert len(before) == 2
    # One drone scan at t=6 sees both vehicles; its reports arrive in different batches.
    # The second lies nearer the west track, which already took this scan's first report.
    near_west = report(at=6, ce=15, source="uav-2", received_after=0.5)
    between = moved(53.0, 18.0, 25.0, 0.0)
    later = report(at=6, lat=between[0], lon=between[1], ce=15, source="uav-2", received_after=2)
    feed(engine, [near_west, later])
    tracks = {track.id: track for track in engine.tracks()}
    assert set(tracks) == before
    owner = {rid: tid for tid, track in tracks.items() for rid in track.lineage}
    assert owner[near_west.id] != owner[later.id]


def test_a_silent_moving_track_goes_stale_with_growing_uncertainty() -> None:
    engine = tracker()
    drive_east(engine, 8.0)
    confirmed = only(engine)
    assert confirmed.status is TrackStatus.CONFIRMED
    engine.step(at(2 + TRACKED.stale_after + 5), [])
    stale = only(engine)
    assert stale.status is TrackStatus.STALE
    # Shown where it was last known, with an uncertainty that says how old that is.
    assert (stale.position.lat, stale.position.lon) == (
        confirmed.position.lat,
        confirmed.position.lon,
    )
    assert stale.updated_at == confirmed.updated_at
    assert stale.position.ce > 10 * confirmed.position.ce


def test_a_still_track_stays_believable_longer() -> None:
    engine = tracker()
    feed(engine, [report(at=t, ce=20, velocity=Velocity(0.0, 0.0)) for t in range(3)])
    engine.step(at(2 + TRACKED.stale_after + 5), [])
    assert only(engine).status is TrackStatus.COASTING


def test_a_stale_track_seen_again_is_found_again_not_started_anew() -> None:
    engine = tracker()
    drive_east(engine, 5.0)
    silent_until = 2 + TRACKED.stale_after + 60
    engine.step(at(silent_until), [])
    stale = only(engine)
    assert stale.status is TrackStatus.STALE
    lat, lon = moved(53.0, 18.0, 5.0 * silent_until, 0.0)
    sighting = report(at=silent_until + 1, lat=lat, lon=lon, ce=40, source="uav-9")
    feed(engine, [sighting])
    found = only(engine)
    assert found.id == stale.id
    assert found.status is TrackStatus.CONFIRMED
    assert found.lineage[-1] == sighting.id


def test_an_object_seen_only_by_patrols_is_confirmed_by_the_next_spot_report() -> None:
    engine = tracker()
    spot = {"ce": 200.0, "kind": SourceKind.HUMAN, "grading": "C3"}
    feed(engine, [report(at=0, source="patrol-1", **spot)])  # type: ignore[arg-type]
    assert only(engine).status is TrackStatus.TENTATIVE
    # The next spot report of the same thing comes minutes later, from another patrol.
    engine.step(at(175), [])
    assert only(engine).status is TrackStatus.TENTATIVE
    lat, lon = moved(53.0, 18.0, 150.0, -100.0)
    second = report(at=176, lat=lat, lon=lon, source="patrol-4", **spot)  # type: ignore[arg-type]
    feed(engine, [second])
    track = only(engine)
    assert track.status is TrackStatus.CONFIRMED
    assert track.report_count == 2


def test_two_vehicles_sixty_metres_apart_in_a_column_stay_two_tracks() -> None:
    # Driving east at 8 m/s, 60 m apart, each seen by a drone in four scans of ten with a
    # 45 m error (drawn from a fixed seed): the scans that see one of them must not pull
    # both into one track.
    noise = random.Random(7)
    reports = []
    for second in range(240):
        for place in range(2):
            if noise.random() > 0.4:
                continue
            lat, lon = moved(53.0, 18.0, 8.0 * second - 60.0 * place, 0.0)
            lat, lon = moved(lat, lon, noise.gauss(0.0, 32.0), noise.gauss(0.0, 32.0))
            reports.append(
                report(at=second, lat=lat, lon=lon, ce=45.0, received_after=noise.uniform(0.3, 1.1))
            )
    reports.sort(key=lambda item: item.received_at or item.observed_at)
    engine = tracker(batch_seconds=1.0)
    feed(engine, reports)
    confirmed = [t for t in engine.tracks() if t.status is TrackStatus.CONFIRMED]
    assert len(confirmed) == 2
    assert all(t.report_count > 60 for t in confirmed)


def test_a_silent_confirmed_track_is_shown_where_its_own_motion_has_carried_it() -> None:
    engine = tracker()
    drive_east(engine, 8.0)
    heard = only(engine)
    # Unheard for a minute (not yet coasting): its state is as of its last report, but
    # it is shown where it has driven since, its error grown to match.
    engine.step(at(62), [])
    silent = only(engine)
    assert silent.status is TrackStatus.CONFIRMED
    assert silent.updated_at == heard.updated_at
    lat, lon = moved(heard.position.lat, heard.position.lon, 8.0 * 60, 0.0)
    assert abs(silent.position.lat - lat) < 1e-4
    assert abs(silent.position.lon - lon) < 1e-4
    assert silent.position.ce > 2 * heard.position.ce


def test_vague_late_reports_are_shared_by_a_column_not_taken_by_its_most_precise_track() -> None:
    # Two vehicles 120 m apart, both tracked; the west one is heard from by a drone until
    # the end, the east one fell silent two minutes earlier (so its track is vaguer).
    engine = tracker()
    east = moved(53.0, 18.0, 120.0, 0.0)
    west = [report(at=t, ce=15) for t in range(0, 180, 5)]
    both = west + [report(at=t, lat=east[0], lon=east[1], ce=15) for t in range(0, 60, 5)]
    feed(engine, sorted(both, key=lambda item: item.observed_at))
    tracks = {(t.position.lon > 18.0009): t.id for t in engine.tracks()}
    assert len(tracks) == 2
    # A patrol's spot report of 300 m error, arriving two minutes late, half-way between
    # them: what it says fits the vaguer track better, and it goes there.
    between = moved(53.0, 18.0, 60.0, 0.0)
    spot = report(
        at=170,
        lat=between[0],
        lon=between[1],
        ce=300.0,
        kind=SourceKind.HUMAN,
        source="patrol-2",
        grading="C3",
        received_after=120.0,
    )
    feed(engine, [spot])
    owner = {rid: t.id for t in engine.tracks() for rid in t.lineage}
    assert owner[spot.id] == tracks[True]
