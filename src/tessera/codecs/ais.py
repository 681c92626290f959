"""AIS (ITU-R M.1371) in NMEA 0183 ``!AIVDM``/``!AIVDO`` sentences, decoded with pyais.

One ``AisDecoder`` per feed: it joins multi-sentence messages, remembers each vessel's
static data (types 5 and 24: name, callsign, ship type) and its last position, and gives
a ``Sighting`` per position report (types 1-3, 18, 19, 27) keyed by MMSI. A position that
implies an impossible speed since the vessel's last one is flagged as possible spoofing
in the report's remarks (the track's details show them). Pure: the time of receipt is
passed in."""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Final

from pyais.exceptions import AISBaseException
from pyais.messages import AISSentence, NMEAMessage

from tessera.codecs.ais_symbols import ship_sidc
from tessera.codecs.feed_model import Decoded, LineBuffer, Sighting
from tessera.core.model import SourceKind

KNOT_M_S: Final = 1852.0 / 3600.0
EARTH_RADIUS_M: Final = 6_371_008.8
# Faster than any vessel (the fastest ferries make ~60 kn): a jump implying more is
# flagged. Jumps under a kilometre are within what position noise and rounding make.
SPOOF_SPEED_KN: Final = 80.0
SPOOF_MIN_JUMP_M: Final = 1_000.0
POSITION_TYPES: Final = frozenset({1, 2, 3, 18, 19, 27})
STATIC_TYPES: Final = frozenset({5, 24})
# Bounds on what is held: unfinished multi-sentence messages, and vessels remembered.
MAX_PENDING_GROUPS: Final = 256
MAX_VESSELS: Final = 200_000
# Class A ships report to 10 m when accurate (the accuracy flag), else GNSS-grade.
CE_ACCURATE_M: Final = 10.0
CE_DEFAULT_M: Final = 30.0
CE_LONG_RANGE_M: Final = 200.0  # type 27: positions to 1/10 minute


class Vessel:
    __slots__ = ("callsign", "last", "name", "ship_type")

    def __init__(self) -> None:
        self.name: str | None = None
        self.callsign: str | None = None
        self.ship_type: int | None = None
        # The last position: (time, lat, lon).
        self.last: tuple[float, float, float] | None = None


def subject_of(mmsi: int) -> str:
    return f"mmsi-{mmsi:09d}"


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


class AisDecoder:
    def __init__(self) -> None:
        self._lines = LineBuffer()
        self._pending: OrderedDict[tuple[Any, ...], list[AISSentence]] = OrderedDict()
        self._vessels: OrderedDict[int, Vessel] = OrderedDict()

    def take(self, data: bytes, now: float, *, whole: bool = False) -> Decoded:
        """Decode what ``data`` completes (``whole``: a datagram, its last line too);
        ``now`` is the time of receipt in seconds."""
        out = Decoded()
        for line in self._lines.lines(data, out.problems, whole=whole):
            self.sentence(line, now, out)
        return out

    def sentence(self, line: bytes, now: float, out: Decoded) -> None:
        start = line.find(b"!")
        if start < 0:
            out.problems.append("not an AIS sentence")
            return
        try:
            sentence: object = NMEAMessage(line[start:])
        except AISBaseException as exc:
            out.problems.append(f"malformed sentence ({type(exc).__name__})")
            return
        except (ValueError, IndexError, TypeError, UnicodeDecodeError):
            out.problems.append("malformed sentence")
            return
        if not isinstance(sentence, AISSentence):
            out.problems.append("not an AIS sentence")
            return
        if not sentence.is_valid:
            out.problems.append("bad checksum")
            return
        whole = self._assembled(sentence, out)
        if whole is None:
            return
        out.messages += 1
        try:
            message = whole.decode()
        except AISBaseException as exc:
            out.problems.append(f"undecodable message ({type(exc).__name__})")
            return
        except (ValueError, IndexError, TypeError, KeyError, UnicodeDecodeError):
            out.problems.append("undecodable message")
            return
        self._message(message, now, out)

    def _assembled(self, sentence: AISSentence, out: Decoded) -> AISSentence | None:
        if sentence.frag_cnt == 1:
            return sentence
        key = (sentence.channel, sentence.seq_id, sentence.frag_cnt)
        parts = self._pending.get(key)
        if parts is None or sentence.frag_num == 1:
            if parts is not None:
                out.problems.append("incomplete multi-sentence message")
            parts = []
            self._pending[key] = parts
            if len(self._pending) > MAX_PENDING_GROUPS:
                self._pending.popitem(last=False)
                out.problems.append("incomplete multi-sentence message")
        if sentence.frag_num != len(parts) + 1:
            out.problems.append("multi-sentence message out of order")
            del self._pending[key]
            return None
        parts.append(sentence)
        if len(parts) < sentence.frag_cnt:
            return None
        del self._pending[key]
        return NMEAMessage.assemble_from_iterable(parts)

    def _vessel(self, mmsi: int) -> Vessel:
        vessel = self._vessels.get(mmsi)
        if vessel is None:
            vessel = self._vessels[mmsi] = Vessel()
            if len(self._vessels) > MAX_VESSELS:
                self._vessels.popitem(last=False)
        return vessel

    def _message(self, message: Any, now: float, out: Decoded) -> None:
        msg_type = int(message.msg_type)
        if message.mmsi is None:
            out.problems.append("truncated message")
            return
        mmsi = int(message.mmsi)
        if msg_type in STATIC_TYPES:
            vessel = self._vessel(mmsi)
            _static(vessel, message)
            # Name the vessel at once where it was last seen.
            if vessel.last is not None:
                _, lat, lon = vessel.last
                out.sightings.append(_sighting(mmsi, vessel, lat, lon, None, None, 0.0, ""))
            return
        if msg_type not in POSITION_TYPES:
            return  # other messages (base stations, safety text, …) carry no vessel
        if msg_type == 19:
            _static(self._vessel(mmsi), message)
        if message.lat is None or message.lon is None or message.mmsi is None:
            out.problems.append("truncated message")
            return
        lat, lon = float(message.lat), float(message.lon)
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            return  # 91/181: position not available
        vessel = self._vessel(mmsi)
        remarks = ""
        if vessel.last is not None:
            remarks = _jump(vessel.last, now, lat, lon)
        vessel.last = (now, lat, lon)
        course, speed = _motion(msg_type, message)
        if msg_type == 27:
            ce = CE_LONG_RANGE_M
        else:
            ce = CE_ACCURATE_M if message.accuracy else CE_DEFAULT_M  # None: not accurate
        out.sightings.append(_sighting(mmsi, vessel, lat, lon, course, speed, ce, remarks))


def _static(vessel: Vessel, message: Any) -> None:
    name = getattr(message, "shipname", None)
    if name:
        vessel.name = str(name).strip("@ ") or vessel.name
    callsign = getattr(message, "callsign", None)
    if callsign:
        vessel.callsign = str(callsign).strip("@ ") or vessel.callsign
    ship_type = getattr(message, "ship_type", None)
    if ship_type:
        vessel.ship_type = int(ship_type)


def _motion(msg_type: int, message: Any) -> tuple[float | None, float | None]:
    if message.speed is None or message.course is None:
        return None, None
    speed = float(message.speed)
    course = float(message.course)
    if msg_type == 27:
        speed_na, course_na = speed >= 63, course >= 511
    else:
        speed_na, course_na = speed >= 102.3, course >= 360
    if speed_na or course_na:
        return None, None
    return course, speed * KNOT_M_S


def _jump(last: tuple[float, float, float], now: float, lat: float, lon: float) -> str:
    then, last_lat, last_lon = last
    moved = distance_m(last_lat, last_lon, lat, lon)
    if moved < SPOOF_MIN_JUMP_M:
        return ""
    elapsed = max(now - then, 1.0)
    knots = moved / elapsed / KNOT_M_S
    if knots <= SPOOF_SPEED_KN:
        return ""
    return (
        f"possible AIS spoofing: jumped {moved / 1000:.1f} km in {now - then:.0f} s "
        f"({knots:.0f} kn implied)"
    )


def _sighting(
    mmsi: int,
    vessel: Vessel,
    lat: float,
    lon: float,
    course: float | None,
    speed: float | None,
    ce: float,
    remarks: str,
) -> Sighting:
    name = vessel.name
    if vessel.callsign:
        name = f"{name} ({vessel.callsign})" if name else vessel.callsign
    return Sighting(
        subject=subject_of(mmsi),
        kind=SourceKind.AIS,
        lat=lat,
        lon=lon,
        ce=ce or CE_DEFAULT_M,
        course=course,
        speed=speed,
        sidc=ship_sidc(vessel.ship_type),
        name=name,
        remarks=remarks,
    )
