"""The whole example UAS Datalink Local Set packet published in MISB ST 0601 (the
standard's example LS: the 16-byte key, a long-form BER length of 145, 25 items and the
checksum 0x1C5F), decoded whole with its checksum verified.

The bytes are the standard's example as written out, byte for byte, in the test vectors
of the open-source ``serde-klv`` crate (github.com/uzuna/serde-klv, ``src/uasdls.rs``,
which cites MISB ST 0601.8); the values expected below follow from those bytes by the
standard's own mappings (tag table of MISB ST 0601). The checksum is not computed here:
it is the one published with the packet, and the decoder must agree with it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tessera.codecs.klv import KlvError, checksum, decode_packet
from tessera.codecs.klv_feed import KlvDecoder

ST0601_EXAMPLE_PACKET = bytes.fromhex(
    "060E2B34020B01010E01030101000000"  # UAS Datalink LS universal key
    "8191"  # BER long form: 145 bytes follow
    "0208 00046C8E20038385"  # 2 precision time stamp
    "4101 01"  # 65 UAS LS version number
    "0502 3D3B"  # 5 platform heading
    "0602 1580"  # 6 platform pitch
    "0702 0152"  # 7 platform roll
    "0B03 454F4E"  # 11 image source sensor "EON"
    "0C0E 47656F6465746963205747533834"  # 12 image coordinate system "Geodetic WGS84"
    "0D04 4DC4DCBB"  # 13 sensor latitude
    "0E04 B1A86CFE"  # 14 sensor longitude
    "0F02 1F4A"  # 15 sensor true altitude
    "1002 0085"  # 16 horizontal field of view
    "1102 004B"  # 17 vertical field of view
    "1204 20C8D27D"  # 18 sensor relative azimuth
    "1304 FCDD02D8"  # 19 sensor relative elevation
    "1404 FEB8CB61"  # 20 sensor relative roll
    "1504 008F3E61"  # 21 slant range
    "1604 000001C9"  # 22 target width
    "1704 4DDD8C2A"  # 23 frame centre latitude
    "1804 B1BE9EF4"  # 24 frame centre longitude
    "1902 0B85"  # 25 frame centre elevation
    "2804 4DDD8C2A"  # 40 target location latitude
    "2904 B1BE9EF4"  # 41 target location longitude
    "2A02 0B85"  # 42 target location elevation
    "3801 2E"  # 56 platform ground speed
    "3904 008DD429"  # 57 ground range
    "0102 1C5F"  # 1 checksum
)


def test_the_standards_example_packet_decodes_whole_with_its_checksum() -> None:
    packet = ST0601_EXAMPLE_PACKET
    assert len(packet) == 16 + 2 + 145
    # The published checksum is the standard's running sum over all bytes before it.
    assert checksum(packet[:-2]) == 0x1C5F == int.from_bytes(packet[-2:], "big")
    decoded = decode_packet(packet)
    assert decoded.time == datetime(2009, 6, 17, 16, 53, 5, 99653, tzinfo=UTC)
    expected = {
        "platform_heading": 86.1067,  # 0x3D3B: 15675 of 65535 over 0..360
        "platform_pitch": 3.3595,
        "platform_roll": 0.5158,
        "sensor_lat": 54.681323,
        "sensor_lon": -110.168560,
        "sensor_alt": 1532.27,
        "hfov": 0.3653,
        "vfov": 0.2060,
        "sensor_rel_azimuth": 46.103149,
        "sensor_rel_elevation": -4.410950,
        "slant_range": 10928.62,
        "frame_centre_lat": 54.749123,
        "frame_centre_lon": -110.046638,
        "frame_centre_elevation": -4.52,
        "target_lat": 54.749123,
        "target_lon": -110.046638,
        "target_elevation": -4.52,
        "ground_speed": 46.0,
    }
    assert decoded.values == pytest.approx(expected, abs=1e-2)
    for name in ("sensor_lat", "sensor_lon", "frame_centre_lat", "frame_centre_lon"):
        assert decoded.values[name] == pytest.approx(expected[name], abs=1e-6)


def test_one_changed_byte_anywhere_fails_the_checksum() -> None:
    packet = bytearray(ST0601_EXAMPLE_PACKET)
    packet[60] ^= 0x01  # inside the sensor latitude's neighbourhood, a value byte
    with pytest.raises(KlvError, match="bad checksum"):
        decode_packet(bytes(packet))


def test_the_feed_decoder_places_the_platform_and_its_footprint_centre() -> None:
    decoded = KlvDecoder().take(ST0601_EXAMPLE_PACKET, 0.0, whole=True)
    assert decoded.problems == [] and decoded.messages == 1
    platform = [s for s in decoded.sightings if s.own]
    assert len(platform) == 1
    assert platform[0].lat == pytest.approx(54.681323, abs=1e-6)
    assert platform[0].lon == pytest.approx(-110.168560, abs=1e-6)
    # The target location tags make a report of their own where the standard puts them.
    targets = [s for s in decoded.sightings if not s.own]
    assert [(round(t.lat, 6), round(t.lon, 6)) for t in targets] == [(54.749123, -110.046638)]
