"""MISB ST 0601 decoding against the standard's own examples, the MPEG-TS KLV stream,
and garbage never getting past a clean error.

MISB ST 0601 (UAS Datalink Local Set) gives an example value and its encoding for each
tag in its tag table; ``STANDARD_EXAMPLES`` holds those of the tags Tessera reads, as
(tag, encoded bytes, example value). ``standard_packet`` joins them into one packet with
the universal key, a BER length and the checksum item, computed as the standard
specifies (a packet assembled here: the tag values are the standard's)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.codecs.klv import (
    TAGS,
    UAS_LS_KEY,
    KlvError,
    ber,
    checksum,
    decode_packet,
    encode_packet,
)
from tessera.codecs.klv_feed import KlvDecoder, KlvTransportStreamDecoder
from tessera.codecs.mpegts import packetise

STANDARD_EXAMPLES: tuple[tuple[int, str, float], ...] = (
    (5, "71C2", 159.9744),  # platform heading
    (6, "FD3D", -0.4315251),  # platform pitch
    (7, "08B8", 3.405814),  # platform roll
    (13, "5595B66D", 60.1768229669783),  # sensor latitude
    (14, "5B5360C4", 128.426759042045),  # sensor longitude
    (15, "C221", 14190.72),  # sensor true altitude
    (16, "CD9C", 144.5713),  # sensor horizontal field of view
    (17, "D917", 152.6436),  # sensor vertical field of view
    (18, "724A0A20", 160.719211474396),  # sensor relative azimuth
    (19, "87F84B86", -168.792324833941),  # sensor relative elevation
    (21, "03830926", 68590.98),  # slant range
    (23, "F101A229", -10.5423886331461),  # frame centre latitude
    (24, "14BC082B", 29.157890122923),  # frame centre longitude
    (25, "34F3", 3216.037),  # frame centre elevation
    (40, "8F695262", -79.1638500518929),  # target location latitude
    (41, "765457F2", 166.400812960416),  # target location longitude
)
STANDARD_TIME = ("000459F4A6AA4AA8", datetime(2008, 10, 24, 0, 13, 29, 913000, tzinfo=UTC))


def standard_packet() -> bytes:
    body = bytes([2, 8]) + bytes.fromhex(STANDARD_TIME[0])
    for tag, encoded, _value in STANDARD_EXAMPLES:
        raw = bytes.fromhex(encoded)
        body += bytes([tag, len(raw)]) + raw
    head = UAS_LS_KEY + ber(len(body) + 4) + body + b"\x01\x02"
    return head + checksum(head).to_bytes(2, "big")


def test_the_standards_example_values_decode() -> None:
    link = decode_packet(standard_packet())
    assert link.time == STANDARD_TIME[1]
    for tag, _encoded, value in STANDARD_EXAMPLES:
        name = TAGS[tag][0]
        # The standard rounds its examples to the digits shown.
        assert math.isclose(link.values[name], value, rel_tol=2e-5, abs_tol=1e-5), name


def test_the_encoder_gives_the_standards_bytes() -> None:
    for tag, encoded, value in STANDARD_EXAMPLES:
        if tag in (6, 7, 21):
            continue  # pitch, roll and slant range: their examples are rounded past a step
        assert TAGS[tag][1].encode(value).hex().upper() == encoded, tag


def test_a_bad_checksum_is_refused() -> None:
    packet = bytearray(standard_packet())
    packet[20] ^= 0x01
    with pytest.raises(KlvError, match="bad checksum"):
        decode_packet(bytes(packet))
    with pytest.raises(KlvError, match="no checksum"):
        decode_packet(UAS_LS_KEY + b"\x04\x05\x02\x71\xc2")


def test_platform_footprint_and_target_from_one_packet() -> None:
    corners = {"corner_lat_1": 54.11, "corner_lon_1": 15.70, "corner_lat_2": 54.11,
               "corner_lon_2": 15.74, "corner_lat_3": 54.09, "corner_lon_3": 15.74,
               "corner_lat_4": 54.09, "corner_lon_4": 15.70}  # fmt: skip
    packet = encode_packet(
        {"sensor_lat": 54.05, "sensor_lon": 15.6, "sensor_alt": 1500.0, "platform_heading": 45.0,
         "ground_speed": 40.0, "target_lat": 54.1, "target_lon": 15.72, **corners},
        texts={"designation": "Reaper 7"},
    )  # fmt: skip
    out = KlvDecoder().take(packet, 0.0, whole=True)
    assert out.messages == 1 and not out.problems
    platform, target = out.sightings
    assert platform.subject == "klv-Reaper-7" and platform.own and platform.name == "Reaper 7"
    assert round(platform.course or 0) == 45 and platform.speed == 40.0
    assert target.subject is None and round(target.lat, 4) == 54.1
    [footprint] = out.footprints
    assert [(round(lon, 4), round(lat, 4)) for lon, lat in footprint.corners] == [
        (15.70, 54.11), (15.74, 54.11), (15.74, 54.09), (15.70, 54.09)
    ]  # fmt: skip


def test_the_frame_centre_and_corner_offsets_make_the_footprint() -> None:
    # Corners 1 and 2 north of the centre, 2 and 3 east of it.
    north = {1: 0.01, 2: 0.01, 3: -0.01, 4: -0.01}
    east = {1: -0.01, 2: 0.01, 3: 0.01, 4: -0.01}
    offsets = {f"offset_lat_{n}": north[n] for n in north}
    offsets.update({f"offset_lon_{n}": east[n] for n in east})
    packet = encode_packet({"frame_centre_lat": 54.1, "frame_centre_lon": 15.7, **offsets})
    [footprint] = KlvDecoder().take(packet, 0.0, whole=True).footprints
    lats = sorted({round(lat, 3) for _, lat in footprint.corners})
    assert lats == [54.09, 54.11]


def test_packets_split_across_reads_and_inside_mpeg_ts() -> None:
    packet = encode_packet({"sensor_lat": 54.05, "sensor_lon": 15.6})
    stream = KlvDecoder()
    assert stream.take(packet[:10], 0.0).messages == 0
    assert stream.take(packet[10:] + packet, 0.0).messages == 2
    ts = packetise(0x1F1, packet) + packetise(0x1F1, packet, counter=1)
    ts += packetise(0x100, b"\x00" * 400, stream_id=0xE0)  # video, passed over
    ts += packetise(0x1F1, packet, counter=2)
    decoder = KlvTransportStreamDecoder()
    # A PES is complete when the next one on its PID starts: two of the three here.
    assert decoder.take(ts[:100], 0.0).messages == 0
    assert decoder.take(ts[100:], 0.0).messages == 2


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8), st.booleans())
def test_garbage_never_raises(chunks: list[bytes], with_key: bool) -> None:
    decoder, ts = KlvDecoder(), KlvTransportStreamDecoder()
    for chunk in chunks:
        data = UAS_LS_KEY + chunk if with_key else chunk
        decoder.take(data, 0.0, whole=True)
        ts.take(b"\x47" + data, 0.0)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=16, max_value=200), st.integers(min_value=1, max_value=255))
def test_damaged_packets_are_clean_errors(at: int, flip: int) -> None:
    packet = bytearray(standard_packet())
    packet[at % len(packet)] ^= flip
    out = KlvDecoder().take(bytes(packet), 0.0, whole=True)
    assert out.messages + len(out.problems) >= 1
