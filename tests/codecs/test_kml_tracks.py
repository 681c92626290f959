"""Tracks in KML: each carries its status and last update (ExtendedData, TimeStamp), the
document stays valid KML 2.2, and Tessera -> KML -> Tessera keeps identity, status,
names and positions (within a metre)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from tessera.codecs.kml_read import KmlError
from tessera.codecs.kml_tracks import KmlTrack, read_kml_tracks
from tessera.codecs.kml_tree import kml_from_kmz
from tessera.codecs.kml_write import KML_NS, write_kml, write_kmz
from tessera.core.model import Identity, Position, Track, TrackStatus, Velocity
from tests.codecs.test_kml import (
    FRIEND,
    HOSTILE,
    PNG,
    T0,
    picture_overlays,
    track,
)
from tests.kml_schema import valid_kml

K = "{" + KML_NS + "}"
EARTH_RADIUS_M = 6_371_008.8


def kml_of(tracks: list[Track]) -> bytes:
    return valid_kml(
        write_kml(
            tracks,
            picture_overlays(),
            picture="NATO-SECRET",
            classification="SECRET",
            icon_href=lambda sidc: f"icons/{sidc}.png",
        )
    )


def kmz_of(tracks: list[Track]) -> bytes:
    icons = dict.fromkeys({t.sidc for t in tracks} | {"10032500001313000000"}, PNG)
    kmz = write_kmz(
        tracks, picture_overlays(), picture="NATO-SECRET", classification="SECRET", icons=icons
    )
    valid_kml(kmz)
    return kmz


def every_status() -> list[Track]:
    return [
        track(f"t-{status.value}", HOSTILE if n % 2 else FRIEND, status=status,
              subject=f"unit-{n}" if n else None)
        for n, status in enumerate(TrackStatus)
    ]  # fmt: skip


def metres_apart(a: Position, b: Position) -> float:
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi, dlam = phi2 - phi1, math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def test_every_track_placemark_carries_its_status_and_a_timestamp_of_its_last_update() -> None:
    tracks = every_status()
    root = etree.fromstring(kml_of(tracks))
    placemarks = root.find(f"{K}Document/{K}Folder").findall(K + "Placemark")  # type: ignore[union-attr]
    assert len(placemarks) == len(TrackStatus)
    for placemark, original in zip(placemarks, sorted(tracks, key=lambda t: t.id), strict=True):
        data = {d.get("name"): d.findtext(K + "value") for d in placemark.iter(K + "Data")}
        assert data["status"] == original.status.value
        assert placemark.findtext(f"{K}TimeStamp/{K}when") == "2026-05-04T09:35:00Z"
        assert data["updated_at"] == "2026-05-04T09:35:00Z"
        assert f"status: {original.status.value}" in (placemark.findtext(K + "description") or "")


def same_track(back: KmlTrack, original: Track) -> None:
    assert back.id == original.id
    assert back.name == (original.subject or original.id)
    assert (back.identity, back.status) == (original.identity, original.status)
    assert metres_apart(back.position, original.position) < 1.0
    if original.position.alt is None:
        assert back.position.alt is None
    else:
        assert back.position.alt == pytest.approx(original.position.alt, abs=1.0)
    assert (back.sidc, back.grading, back.label) == (
        original.sidc,
        original.grading,
        original.label,
    )
    assert back.updated_at == original.updated_at


@pytest.mark.parametrize("writer", [kml_of, kmz_of])
def test_tracks_round_trip_through_kml_and_kmz(writer: object) -> None:
    tracks = [*every_status(), track("t-high", FRIEND, alt=120.0)]
    assert callable(writer)
    back = read_kml_tracks(writer(tracks))
    # Overlays (points among them) are not tracks: only the five track placemarks return.
    assert len(back) == len(tracks)
    by_id = {found.id: found for found in back}
    for original in tracks:
        same_track(by_id[original.id], original)


positions = st.builds(
    Position,
    lat=st.floats(-89.9, 89.9),
    lon=st.floats(-179.9, 179.9),
    alt=st.none() | st.floats(-500.0, 50_000.0),
)


# What a track's name is made of: its subject (an identifier), else its id.
subjects = st.none() | st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,40}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(positions, st.sampled_from(Identity), st.sampled_from(TrackStatus), subjects),
        min_size=1,
        max_size=6,
    )
)
def test_any_tracks_keep_identity_status_name_and_position(
    drawn: list[tuple[Position, Identity, TrackStatus, str | None]],
) -> None:
    tracks = [
        msgspec.structs.replace(
            track(f"t-{n}", FRIEND, status=status, subject=subject),
            position=position,
            identity=identity,
            updated_at=T0 + timedelta(seconds=n),
        )
        for n, (position, identity, status, subject) in enumerate(drawn)
    ]
    back = {found.id: found for found in read_kml_tracks(kml_of(tracks))}
    for original in tracks:
        same_track(back[original.id], original)


@pytest.mark.parametrize("writer", [kml_of, kmz_of])
def test_a_held_track_has_a_time_span_to_its_hold_and_keeps_its_motion(writer: object) -> None:
    held = msgspec.structs.replace(
        track("t-held", HOSTILE),
        valid_until=T0 + timedelta(hours=8),
        velocity=Velocity(course=92.5, speed=11.25),
    )
    assert callable(writer)
    data = writer([held, track("t-free", FRIEND)])
    root = etree.fromstring(data if data.startswith(b"<") else kml_from_kmz(data))
    placemarks = {
        p.findtext(K + "name"): p
        for p in root.iter(K + "Placemark")
        if p.findtext(K + "name") in ("t-held", "t-free")
    }
    span = placemarks["t-held"].find(K + "TimeSpan")
    assert span is not None and placemarks["t-held"].find(K + "TimeStamp") is None
    assert (span.findtext(K + "begin"), span.findtext(K + "end")) == (
        "2026-05-04T09:35:00Z",
        "2026-05-04T17:30:00Z",
    )
    assert placemarks["t-free"].find(K + "TimeSpan") is None
    back = {found.id: found for found in read_kml_tracks(data)}
    assert back["t-held"].updated_at == held.updated_at
    assert back["t-held"].valid_until == held.valid_until
    assert back["t-held"].velocity == held.velocity
    assert back["t-free"].valid_until is None and back["t-free"].velocity is None


def test_a_track_placemark_with_a_wrong_field_fails_the_file() -> None:
    kml = kml_of(every_status()).replace(b"<value>coasting</value>", b"<value>zombie</value>")
    with pytest.raises(KmlError, match=r"line \d+: Placemark: 'zombie' is not a valid"):
        read_kml_tracks(kml)
    with pytest.raises(KmlError, match="not KML"):
        read_kml_tracks(b"<nvg/>")


def test_a_kml_time_without_a_zone_is_utc() -> None:
    kml = kml_of([track("t-1", FRIEND)]).replace(b"09:35:00Z</when>", b"09:35:00</when>")
    (back,) = read_kml_tracks(kml)
    assert back.updated_at == datetime(2026, 5, 4, 9, 35, tzinfo=UTC)


def test_the_schema_check_refuses_what_kml_22_does_not_allow() -> None:
    kml = kml_of([track("t-1", FRIEND)])
    # The TimeStamp after styleUrl: out of the order the schema lays down.
    root = etree.fromstring(kml)
    placemark = next(root.iter(K + "Placemark"))
    stamp = placemark.find(K + "TimeStamp")
    assert stamp is not None
    placemark.remove(stamp)
    placemark.append(stamp)
    with pytest.raises(AssertionError, match=r"not valid KML 2\.2"):
        valid_kml(etree.tostring(root))
