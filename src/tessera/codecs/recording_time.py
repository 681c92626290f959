"""When each record of a feed recording was recorded, so a file replays at the pace it
was recorded (``tessera.transports.feeds.pacing``). Pure: bytes in, records and their
times (seconds, on the recording's own clock) out; None where a record carries no time.

- AIS (NMEA 0183): one sentence a record, timed by its NMEA 4.10 tag block (``c:``, Unix
  seconds, or milliseconds as some receivers write them).
- SBS-1 (BaseStation): one line a record, timed by its generated date and time fields.
- KLV (MISB ST 0601): one Local Set a record, timed by its precision time stamp (tag 2).
- KLV in MPEG-TS: one 188-byte transport packet a record, timed by the PTS of the PES
  that starts in it (90 kHz), where there is one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from tessera.codecs.klv import UAS_LS_KEY, KlvError, decode_packet, split_packet

Record = tuple[bytes, float | None]
TS_PACKET: Final = 188
MAX_LINE: Final = 64 * 1024
# Above this a tag block's time is in milliseconds (seconds pass it in the year 5138).
MILLISECONDS_FROM: Final = 100_000_000_000


def nmea_tag_time(line: bytes) -> float | None:
    """The ``c:`` time of a sentence's tag block (``\\c:1700000000*hh\\!AIVDM,…``)."""
    if not line.startswith(b"\\"):
        return None
    end = line.find(b"\\", 1)
    if end < 0:
        return None
    block = line[1:end].split(b"*", 1)[0]
    for field in block.split(b","):
        if field.startswith(b"c:"):
            try:
                value = int(field[2:])
            except ValueError:
                return None
            return value / 1000 if value >= MILLISECONDS_FROM else float(value)
    return None


def sbs_time(line: bytes) -> float | None:
    """The generated date and time of a BaseStation line (fields 7 and 8)."""
    fields = line.split(b",")
    if len(fields) < 8 or fields[0] != b"MSG":
        return None
    try:
        text = (fields[6] + b" " + fields[7]).decode("ascii").strip()
        moment = datetime.strptime(text, "%Y/%m/%d %H:%M:%S.%f")
    except (UnicodeDecodeError, ValueError):
        return None
    return moment.replace(tzinfo=UTC).timestamp()


def klv_time(packet: bytes) -> float | None:
    try:
        decoded = decode_packet(packet)
    except KlvError:
        return None
    return None if decoded.time is None else decoded.time.timestamp()


def pes_time(packet: bytes) -> float | None:
    """The PTS of a PES starting in this transport packet, in seconds."""
    if len(packet) != TS_PACKET or packet[0] != 0x47 or not packet[1] & 0x40:
        return None
    control = (packet[3] >> 4) & 0x3
    if not control & 0x1:
        return None
    at = 4 + (1 + packet[4] if control & 0x2 else 0)
    pes = packet[at:]
    if len(pes) < 14 or pes[:3] != b"\x00\x00\x01" or not (pes[7] >> 6) & 0x2:
        return None
    pts = (
        ((pes[9] >> 1) & 0x7) << 30
        | pes[10] << 22
        | (pes[11] >> 1) << 15
        | pes[12] << 7
        | pes[13] >> 1
    )
    return pts / 90_000


class LineRecords:
    def __init__(self, timed: Callable[[bytes], float | None]) -> None:
        self._timed = timed
        self._pending = b""

    def feed(self, data: bytes) -> list[Record]:
        lines = (self._pending + data).split(b"\n")
        self._pending = lines.pop()
        if len(self._pending) > MAX_LINE:  # the decoder names the problem
            lines.append(self._pending)
            self._pending = b""
        return [(line + b"\n", self._timed(line.strip())) for line in lines]

    def end(self) -> list[Record]:
        rest, self._pending = self._pending, b""
        return [(rest, self._timed(rest.strip()))] if rest else []


class KlvRecords:
    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[Record]:
        buffer = self._pending + data
        out: list[Record] = []
        at = 0
        while at < len(buffer):
            start = buffer.find(UAS_LS_KEY, at)
            if start < 0:
                keep = max(at, len(buffer) - len(UAS_LS_KEY) + 1)
                if keep > at:
                    out.append((buffer[at:keep], None))
                at = keep
                break
            if start > at:
                out.append((buffer[at:start], None))  # not KLV: the decoder counts it
            try:
                packet, end = split_packet(buffer, start)
            except KlvError as exc:
                if str(exc) == "incomplete":
                    at = start
                    break
                out.append((buffer[start : start + 1], None))
                at = start + 1
                continue
            out.append((packet, klv_time(packet)))
            at = end
        self._pending = buffer[at:]
        return out

    def end(self) -> list[Record]:
        rest, self._pending = self._pending, b""
        return [(rest, None)] if rest else []


class TransportPacketRecords:
    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[Record]:
        buffer = self._pending + data
        whole = len(buffer) - len(buffer) % TS_PACKET
        self._pending = buffer[whole:]
        return [
            (buffer[at : at + TS_PACKET], pes_time(buffer[at : at + TS_PACKET]))
            for at in range(0, whole, TS_PACKET)
        ]

    def end(self) -> list[Record]:
        rest, self._pending = self._pending, b""
        return [(rest, None)] if rest else []


Records = LineRecords | KlvRecords | TransportPacketRecords


def records_for(kind: str) -> Records | None:
    """How a recording of ``kind`` splits into timed records; None: it carries no time
    Tessera reads (it is read as fast as it can be)."""
    if kind == "ais":
        return LineRecords(nmea_tag_time)
    if kind == "adsb-sbs":
        return LineRecords(sbs_time)
    if kind == "klv":
        return KlvRecords()
    if kind == "klv-ts":
        return TransportPacketRecords()
    return None
