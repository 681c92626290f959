"""Recordings replay at the pace they were recorded (scaled by ``replay_speed``), or as
fast as they can be read: the waits are measured on an injected clock, whose sleeping
only moves it on (no test here waits)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.codecs.klv import encode_packet
from tessera.codecs.recording_time import (
    TS_PACKET,
    KlvRecords,
    LineRecords,
    nmea_tag_time,
    pes_time,
    records_for,
    sbs_time,
)
from tessera.transports.feeds.base import FeedStatus
from tessera.transports.feeds.config import FeedConfig
from tessera.transports.feeds.pacing import Pacer, paced
from tessera.transports.feeds.sources import pieces

KLV_PACKET = encode_packet({"sensor_lat": 54.0}, time=datetime(2026, 5, 4, tzinfo=UTC))
TYPE1 = b"!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C"
START = 1_700_000_000


class FakeClock:
    """A monotonic clock that sleeping moves on, and the sleeps asked for."""

    def __init__(self) -> None:
        self.now = 50.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def tagged(at: float) -> bytes:
    return b"\\s:rx1,c:" + str(int(at)).encode() + b"*00\\" + TYPE1 + b"\r\n"


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at : at + size]


async def replay(data: bytes, kind: str, speed: float, size: int = 7) -> tuple[
    list[list[bytes]], FakeClock
]:  # fmt: skip
    clock = FakeClock()
    records = records_for(kind)
    assert records is not None
    batches = [
        batch
        async for batch in paced(chunks_of(data, size), records, Pacer(speed, clock), clock.sleep)
    ]
    return batches, clock


def test_ais_sentences_go_out_when_their_tag_block_times_are_due() -> None:
    # 0 s, 10 s, 10 s, then an untimed sentence (goes with the one before), then 40 s.
    data = tagged(START) + tagged(START + 10) + tagged(START + 10) + TYPE1 + b"\n"
    data += tagged(START + 40)
    batches, clock = asyncio.run(replay(data, "ais", speed=2.0))
    assert clock.sleeps == [5.0, 15.0]  # the recording's gaps, at twice its speed
    assert [len(batch) for batch in batches] == [1, 3, 1]
    assert b"".join(b"".join(batch) for batch in batches) == data  # every byte, in order


def test_as_fast_as_possible_and_at_speed_one() -> None:
    data = tagged(START) + tagged(START + 3) + tagged(START + 4)
    _, clock = asyncio.run(replay(data, "ais", speed=1.0, size=1000))
    assert clock.sleeps == [3.0, 1.0]
    _, fast = asyncio.run(replay(data, "ais", speed=10_000.0))
    assert sum(fast.sleeps) < 0.001


def test_a_replay_that_falls_behind_catches_up_without_waiting() -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, clock)
    assert pacer.wait(START) == 0.0
    clock.now += 30.0  # the journal was slow for half a minute
    assert pacer.wait(START + 10) == 0.0 and pacer.wait(START + 20) == 0.0
    assert pacer.wait(START + 45) == pytest.approx(15.0)


def test_time_going_backwards_starts_the_count_again() -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, clock)
    assert pacer.wait(START + 100) == 0.0
    assert pacer.wait(START) == 0.0  # a new segment
    assert pacer.wait(START + 5) == pytest.approx(5.0)
    assert pacer.wait(None) == 0.0


def test_klv_packets_are_paced_by_their_precision_time_stamps() -> None:
    when = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    packets = [
        encode_packet({"sensor_lat": 54.0, "sensor_lon": 15.6}, time=when + timedelta(seconds=s))
        for s in (0.0, 0.5, 2.5)
    ]
    batches, clock = asyncio.run(replay(b"".join(packets), "klv", speed=1.0, size=13))
    assert clock.sleeps == [0.5, 2.0]
    assert [b"".join(batch) for batch in batches] == packets


def test_klv_garbage_between_packets_is_passed_on_for_the_decoder_to_count() -> None:
    packet = encode_packet({"sensor_lat": 54.0}, time=datetime(2026, 5, 4, tzinfo=UTC))
    records = KlvRecords()
    out = records.feed(b"junk" + packet + b"tail-bytes-that-are-long-enough") + records.end()
    assert b"".join(record for record, _ in out) == b"junk" + packet + (
        b"tail-bytes-that-are-long-enough"
    )
    assert [time for record, time in out if record == packet] == [1777852800.0]


def test_the_times_each_format_carries() -> None:
    assert nmea_tag_time(tagged(START).strip()) == START
    assert nmea_tag_time(b"\\c:1700000000123*00\\" + TYPE1) == pytest.approx(1700000000.123)
    assert nmea_tag_time(TYPE1) is None and nmea_tag_time(b"\\c:soon*00\\x") is None
    sbs = b"MSG,3,1,1,4CA2D6,1,2026/05/04,09:30:12.500,2026/05/04,09:30:12.600,,35000"
    assert sbs_time(sbs) == datetime(2026, 5, 4, 9, 30, 12, 500000, tzinfo=UTC).timestamp()
    assert sbs_time(b"MSG,3,1,1,4CA2D6,1,,,,") is None
    lines = LineRecords(sbs_time)
    assert [t for _, t in lines.feed(sbs + b"\n" + sbs[:20])] == [sbs_time(sbs)]


def _pes_packet(pts: int) -> bytes:
    """One transport packet starting a metadata PES (stream 0xFC) with a PTS."""
    stamp = bytes([
        0x21 | ((pts >> 29) & 0x0E), (pts >> 22) & 0xFF, ((pts >> 14) & 0xFE) | 1,
        (pts >> 7) & 0xFF, ((pts << 1) & 0xFE) | 1,
    ])  # fmt: skip
    pes = b"\x00\x00\x01\xfc\x00\x00\x84\x80\x05" + stamp
    payload = pes + b"\xff" * (TS_PACKET - 4 - len(pes))
    return bytes([0x47, 0x41, 0xF1, 0x10]) + payload


def test_mpeg_ts_is_paced_by_the_pts_of_its_pes() -> None:
    assert pes_time(_pes_packet(90_000 * 7)) == 7.0
    middle = bytes([0x47, 0x01, 0xF1, 0x11]) + b"\xff" * 184  # continues a PES: no time
    assert pes_time(middle) is None
    data = _pes_packet(0) + middle + _pes_packet(90_000 * 4)
    batches, clock = asyncio.run(replay(data, "klv-ts", speed=1.0, size=100))
    assert clock.sleeps == [4.0]
    assert [len(batch) for batch in batches] == [2, 1]


def test_fast_replay_reads_the_file_in_chunks_without_pacing(tmp_path: Path) -> None:
    recording = tmp_path / "coast.nmea"
    recording.write_bytes(tagged(START) + tagged(START + 3600))
    config = FeedConfig(
        name="ais-file", kind="ais", address=recording.as_uri(), principal="p", replay="fast"
    )

    async def read() -> list[list[bytes]]:
        return [chunk async for chunk, _ in pieces(config, FeedStatus(config))]

    # An hour of recording, read at once: one chunk, never waiting.
    assert asyncio.run(asyncio.wait_for(read(), 10)) == [[recording.read_bytes()]]


def test_a_replay_speed_out_of_range_is_refused() -> None:
    config = FeedConfig(name="f", kind="ais", address="file:///x.nmea", principal="p")
    assert config.replay == "paced" and config.replay_speed == 1.0
    assert "replay_speed" in (msgspec.structs.replace(config, replay_speed=0.0).problem() or "")
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({**msgspec.to_builtins(config), "replay": "slow"}, FeedConfig)


@given(
    st.sampled_from(["ais", "adsb-sbs", "klv", "klv-ts"]),
    st.lists(
        st.binary(max_size=300)
        | st.sampled_from([tagged(START), _pes_packet(90_000), KLV_PACKET, b"\\c:9*", b"\n"]),
        max_size=12,
    ),
    st.integers(min_value=1, max_value=400),
)
def test_any_bytes_split_into_records_that_keep_every_byte(
    kind: str, parts: list[bytes], size: int
) -> None:
    data = b"".join(parts)
    records = records_for(kind)
    assert records is not None
    out: list[bytes] = []
    for at in range(0, len(data), size):
        for record, recorded in records.feed(data[at : at + size]):
            assert recorded is None or recorded == recorded  # a number, never NaN
            out.append(record)
    out.extend(record for record, _ in records.end())
    assert b"".join(out) == data
