"""MAVLink decoding, on messages made by pymavlink's own encoder; the camera footprint's
geometry; garbage never getting past a clean error."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from pymavlink.dialects.v20 import common as mavlink

from tessera.codecs.mavlink import MavlinkDecoder
from tessera.core.footprint import euler_from_quaternion, ground_footprint
from tessera.core.model import SourceKind

LAT, LON = 54.15, 15.60


def drone(system: int = 7) -> mavlink.MAVLink:
    return mavlink.MAVLink(None, srcSystem=system, srcComponent=1)


def position(
    enc: mavlink.MAVLink, lat: float = LAT, lon: float = LON, height: float = 100.0
) -> bytes:
    # 120 m above sea level, `height` above home, flying north at 5 m/s, heading 90.
    message = enc.global_position_int_encode(
        1000, round(lat * 1e7), round(lon * 1e7), 120_000, round(height * 1000), 500, 0, 0, 9000
    )
    return bytes(message.pack(enc))


def mount(enc: mavlink.MAVLink, pitch: float, yaw: float = 0.0) -> bytes:
    return bytes(enc.mount_orientation_encode(1000, 0.0, pitch, yaw, 0.0).pack(enc))


def test_position_becomes_a_friendly_air_track_of_its_own() -> None:
    out = MavlinkDecoder().take(position(drone()), 0.0)
    assert out.messages == 1 and not out.problems
    [seen] = out.sightings
    assert seen.subject == "mav-7" and seen.kind is SourceKind.UAV
    assert (seen.lat, seen.lon, seen.alt) == (LAT, LON, 120.0)
    assert seen.course == 0.0 and seen.speed == 5.0
    assert seen.sidc is not None and seen.sidc[4:6] == "01"


def test_gimbal_pointing_down_gives_a_footprint_under_the_drone() -> None:
    enc = drone()
    out = MavlinkDecoder().take(position(enc) + mount(enc, -90.0), 0.0)
    [footprint] = out.footprints
    assert footprint.platform == "mav-7" and len(footprint.corners) == 4
    lons = [lon for lon, _ in footprint.corners]
    lats = [lat for _, lat in footprint.corners]
    assert min(lons) < LON < max(lons) and min(lats) < LAT < max(lats)
    # The gimbal's yaw is the drone's (heading 90): the picture's width runs north-south,
    # 60 degrees across at 100 m, about 115 m; its height 45 degrees, about 83 m.
    width_m = (max(lats) - min(lats)) * 111_320
    height_m = (max(lons) - min(lons)) * 111_320 * math.cos(math.radians(LAT))
    assert 110 < width_m < 120 and 80 < height_m < 86


def test_camera_fov_status_gives_the_footprint_with_its_own_field_of_view() -> None:
    enc = drone()
    # Looking 45 degrees down towards the east (yaw 90), a narrow 20 x 15 degree view.
    w, x, y, z = _quaternion(roll=0.0, pitch=-45.0, yaw=90.0)
    fov = enc.camera_fov_status_encode(
        1000, round(LAT * 1e7), round(LON * 1e7), 120_000, 0, 0, 0, [w, x, y, z], 20.0, 15.0
    )
    out = MavlinkDecoder().take(position(enc) + bytes(fov.pack(enc)), 0.0)
    [footprint] = out.footprints
    centre_lon = sum(lon for lon, _ in footprint.corners) / 4
    east_m = (centre_lon - LON) * 111_320 * math.cos(math.radians(LAT))
    assert 80 < east_m < 130  # about 100 m out at 45 degrees from 100 m up


def test_camera_information_sets_the_field_of_view() -> None:
    enc = drone()
    info = enc.camera_information_encode(
        0, [0] * 32, [0] * 32, 0, 10.0, 10.0, 5.0, 0, 0, 0, 0, 0, b""
    )
    out = MavlinkDecoder().take(bytes(info.pack(enc)) + position(enc) + mount(enc, -90), 0.0)
    lats = [lat for _, lat in out.footprints[0].corners]
    width_m = (max(lats) - min(lats)) * 111_320
    assert 95 < width_m < 105  # 2 atan(10 / 20) = 53 degrees: 100 m at 100 m


def test_footprint_geometry() -> None:
    down = ground_footprint(54.0, 16.0, 100.0, yaw=0.0, pitch=-90.0, hfov=90.0, vfov=90.0)
    assert down is not None
    for _lon, lat in down:
        assert math.isclose(abs(lat - 54.0) * 111_320, 100.0, rel_tol=1e-6)
    horizon = ground_footprint(54.0, 16.0, 100.0, yaw=0.0, pitch=0.0, hfov=40.0, vfov=30.0)
    assert horizon is not None
    assert max(lat for _, lat in horizon) - 54.0 <= 20_000 / 111_320 + 1e-9
    assert ground_footprint(54.0, 16.0, -5.0, yaw=0, pitch=-90, hfov=40, vfov=30) is None
    assert euler_from_quaternion(*_quaternion(roll=10, pitch=-30, yaw=200)) == _approx(10, -30, 200)


def test_bad_frames_are_counted_and_the_stream_goes_on() -> None:
    enc = drone()
    decoder = MavlinkDecoder()
    good = position(enc)
    broken = bytearray(position(enc))
    broken[-1] ^= 0xFF  # its checksum
    out = decoder.take(bytes(broken) + good, 0.0)
    assert out.messages == 1 and len(out.sightings) == 1
    assert out.problems == ["bad MAVLink frame (CRC)"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_garbage_never_raises(chunks: list[bytes]) -> None:
    decoder = MavlinkDecoder()
    for chunk in chunks:
        decoder.take(chunk, 0.0)
    assert decoder.take(position(drone()), 0.0).messages <= 1


def _quaternion(*, roll: float, pitch: float, yaw: float) -> tuple[float, float, float, float]:
    r, p, y = (math.radians(a) / 2 for a in (roll, pitch, yaw))
    return (
        math.cos(r) * math.cos(p) * math.cos(y) + math.sin(r) * math.sin(p) * math.sin(y),
        math.sin(r) * math.cos(p) * math.cos(y) - math.cos(r) * math.sin(p) * math.sin(y),
        math.cos(r) * math.sin(p) * math.cos(y) + math.sin(r) * math.cos(p) * math.sin(y),
        math.cos(r) * math.cos(p) * math.sin(y) - math.sin(r) * math.sin(p) * math.cos(y),
    )


def _approx(*values: float) -> tuple[float, ...]:
    class Close(tuple[float, ...]):
        def __eq__(self, other: object) -> bool:
            return isinstance(other, tuple) and all(
                math.isclose(a, b, abs_tol=1e-6) for a, b in zip(self, other, strict=True)
            )

        __hash__ = tuple.__hash__

    return Close(values)
