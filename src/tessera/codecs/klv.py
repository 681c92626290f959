"""MISB ST 0601 UAS Datalink Local Set (STANAG 4609 metadata), the tags Tessera uses.

A packet is the 16-byte universal key, a BER length, then local-set items (tag, BER
length, value), the last being the checksum (tag 1): a 16-bit sum over the whole packet
up to and including the checksum's tag and length, each byte added as the high byte at
even offsets and the low byte at odd ones. Values are mapped integers; the mappings
below (tag, size, range) are those of MISB ST 0601's tag table (the standard is
published by the Motion Imagery Standards Board, nsgreg.nga.mil/misb). A value holding
the "out of range" code (the lowest signed integer) is left out.

Pure, typed and small on purpose: klvdata, the Python decoder once used, has not been
maintained since 2018."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

UAS_LS_KEY: Final = bytes.fromhex("060E2B34020B01010E01030101000000")
CHECKSUM_TAG: Final = 1
MAX_PACKET: Final = 64 * 1024


class KlvError(ValueError):
    """A packet that is not a well-formed UAS Datalink Local Set."""


@dataclass(frozen=True)
class Mapping:
    """An integer of ``size`` bytes mapped onto [low, high]: signed ones symmetrically
    over ±(2^(8·size-1) - 1), unsigned ones over 0 .. 2^(8·size) - 1."""

    size: int
    low: float
    high: float
    signed: bool

    def decode(self, raw: bytes) -> float | None:
        if len(raw) != self.size:
            raise KlvError(f"a {self.size}-byte value came in {len(raw)} bytes")
        value = int.from_bytes(raw, "big", signed=self.signed)
        if self.signed:
            top = (1 << (8 * self.size - 1)) - 1
            if value == -top - 1:
                return None  # "out of range"
            return value * (self.high - self.low) / (2 * top)
        return self.low + value * (self.high - self.low) / ((1 << (8 * self.size)) - 1)

    def encode(self, number: float) -> bytes:
        if self.signed:
            top = (1 << (8 * self.size - 1)) - 1
            value = round(number * (2 * top) / (self.high - self.low))
            return max(-top, min(top, value)).to_bytes(self.size, "big", signed=True)
        top = (1 << (8 * self.size)) - 1
        value = round((number - self.low) * top / (self.high - self.low))
        return max(0, min(top, value)).to_bytes(self.size, "big")


def _lat(size: int = 4) -> Mapping:
    return Mapping(size, -90.0, 90.0, signed=True)


def _lon(size: int = 4) -> Mapping:
    return Mapping(size, -180.0, 180.0, signed=True)


_ALTITUDE: Final = Mapping(2, -900.0, 19_000.0, signed=False)
_ANGLE_360: Final = Mapping(2, 0.0, 360.0, signed=False)
_FOV: Final = Mapping(2, 0.0, 180.0, signed=False)
_OFFSET: Final = Mapping(2, -0.075, 0.075, signed=True)

# The tags decoded (MISB ST 0601 tag table): number → (field, mapping).
TAGS: Final[dict[int, tuple[str, Mapping]]] = {
    5: ("platform_heading", _ANGLE_360),
    6: ("platform_pitch", Mapping(2, -20.0, 20.0, signed=True)),
    7: ("platform_roll", Mapping(2, -50.0, 50.0, signed=True)),
    13: ("sensor_lat", _lat()),
    14: ("sensor_lon", _lon()),
    15: ("sensor_alt", _ALTITUDE),
    16: ("hfov", _FOV),
    17: ("vfov", _FOV),
    18: ("sensor_rel_azimuth", Mapping(4, 0.0, 360.0, signed=False)),
    19: ("sensor_rel_elevation", Mapping(4, -180.0, 180.0, signed=True)),
    21: ("slant_range", Mapping(4, 0.0, 5_000_000.0, signed=False)),
    23: ("frame_centre_lat", _lat()),
    24: ("frame_centre_lon", _lon()),
    25: ("frame_centre_elevation", _ALTITUDE),
    26: ("offset_lat_1", _OFFSET),
    27: ("offset_lon_1", _OFFSET),
    28: ("offset_lat_2", _OFFSET),
    29: ("offset_lon_2", _OFFSET),
    30: ("offset_lat_3", _OFFSET),
    31: ("offset_lon_3", _OFFSET),
    32: ("offset_lat_4", _OFFSET),
    33: ("offset_lon_4", _OFFSET),
    40: ("target_lat", _lat()),
    41: ("target_lon", _lon()),
    42: ("target_elevation", _ALTITUDE),
    56: ("ground_speed", Mapping(1, 0.0, 255.0, signed=False)),
    75: ("sensor_ellipsoid_height", _ALTITUDE),
    82: ("corner_lat_1", _lat()),
    83: ("corner_lon_1", _lon()),
    84: ("corner_lat_2", _lat()),
    85: ("corner_lon_2", _lon()),
    86: ("corner_lat_3", _lat()),
    87: ("corner_lon_3", _lon()),
    88: ("corner_lat_4", _lat()),
    89: ("corner_lon_4", _lon()),
}
TIMESTAMP_TAG: Final = 2
MISSION_TAG: Final = 3
DESIGNATION_TAG: Final = 10
TAIL_NUMBER_TAG: Final = 4
TEXT_TAGS: Final = {MISSION_TAG: "mission", TAIL_NUMBER_TAG: "tail", DESIGNATION_TAG: "designation"}


@dataclass
class UasDatalink:
    """One decoded packet: ``values`` by field name (those present and in range)."""

    values: dict[str, float] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    time: datetime | None = None


def checksum(data: bytes) -> int:
    """ST 0601's running 16-bit sum."""
    total = 0
    for index, byte in enumerate(data):
        total += byte << (8 * ((index + 1) % 2))
    return total & 0xFFFF


def read_ber(data: bytes | memoryview, at: int) -> tuple[int, int]:
    """A BER length at ``at``: (the length, where its value starts)."""
    if at >= len(data):
        raise KlvError("the packet ends inside a length")
    first = data[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    if count == 0 or count > 4 or at + 1 + count > len(data):
        raise KlvError("a malformed BER length")
    return int.from_bytes(bytes(data[at + 1 : at + 1 + count]), "big"), at + 1 + count


def ber(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def split_packet(data: bytes, at: int = 0) -> tuple[bytes, int]:
    """The packet starting at ``at`` (key included) and where it ends; KlvError if it is
    not one, IndexError-free: a short buffer raises ``KlvError('incomplete')``."""
    if data[at : at + 16] != UAS_LS_KEY:
        raise KlvError("not a UAS Datalink Local Set key")
    length, start = read_ber(data, at + 16)
    if length > MAX_PACKET:
        raise KlvError("a packet longer than 64 KiB")
    end = start + length
    if end > len(data):
        raise KlvError("incomplete")
    return data[at:end], end


def decode_packet(packet: bytes) -> UasDatalink:
    """Decode one whole packet (key, length, items), its checksum verified."""
    if packet[:16] != UAS_LS_KEY:
        raise KlvError("not a UAS Datalink Local Set key")
    length, start = read_ber(packet, 16)
    if start + length != len(packet):
        raise KlvError("the length does not match the packet")
    out = UasDatalink()
    at = start
    checked = False
    while at < len(packet):
        tag = packet[at]
        if tag >= 0x80:
            raise KlvError("a multi-byte tag (not one this decoder reads)")
        size, value_at = read_ber(packet, at + 1)
        value = packet[value_at : value_at + size]
        if len(value) != size:
            raise KlvError("an item runs past the packet")
        if tag == CHECKSUM_TAG:
            if size != 2 or value_at + size != len(packet):
                raise KlvError("the checksum must be the last item, two bytes")
            if int.from_bytes(value, "big") != checksum(packet[:value_at]):
                raise KlvError("bad checksum")
            checked = True
        elif tag in TAGS:
            name, mapping = TAGS[tag]
            number = mapping.decode(value)
            if number is not None and math.isfinite(number):
                out.values[name] = number
        elif tag == TIMESTAMP_TAG and size == 8:
            micros = int.from_bytes(value, "big")
            if micros < 253_402_300_800 * 1_000_000:  # before the year 10000
                out.time = datetime.fromtimestamp(micros / 1e6, UTC)
        elif tag in TEXT_TAGS:
            out.texts[TEXT_TAGS[tag]] = value.decode("utf-8", "replace")
        at = value_at + size
    if not checked:
        raise KlvError("no checksum")
    return out


def encode_packet(
    values: dict[str, float], *, time: datetime | None = None, texts: dict[str, str] | None = None
) -> bytes:
    """A packet of ``values`` (by field name), with its checksum: for tests, the exercise
    and benchmarks."""
    by_name = {name: (tag, mapping) for tag, (name, mapping) in TAGS.items()}
    body = b""
    if time is not None:
        micros = round(time.timestamp() * 1e6)
        body += bytes([TIMESTAMP_TAG, 8]) + micros.to_bytes(8, "big")
    for tag, name in TEXT_TAGS.items():
        if texts and name in texts:
            raw = texts[name].encode()
            body += bytes([tag]) + ber(len(raw)) + raw
    for name, number in values.items():
        tag, mapping = by_name[name]
        raw = mapping.encode(number)
        body += bytes([tag]) + ber(len(raw)) + raw
    head = UAS_LS_KEY + ber(len(body) + 4) + body + bytes([CHECKSUM_TAG, 2])
    return head + checksum(head).to_bytes(2, "big")
