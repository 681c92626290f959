"""ADS-B as receivers give it: the SBS-1 BaseStation text stream (port 30003) and
readsb/dump1090's ``aircraft.json``. Aircraft are keyed by their ICAO 24-bit address
(``icao-<hex>``), named by their callsign; altitude, ground speed and track come along,
and a squawk of 7500, 7600 or 7700 is flagged. Pure: the time of receipt is passed in.

SBS-1 fields (comma-separated, after Kinetic Avionics' BaseStation format): 0 ``MSG``,
1 transmission type, 4 ICAO address, 10 callsign, 11 altitude (ft), 12 ground speed (kt),
13 track (degrees), 14 latitude, 15 longitude, 17 squawk, 21 on the ground."""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Final

import msgspec

from tessera.codecs.feed_model import Decoded, LineBuffer, Sighting, Squawk
from tessera.core.model import SourceKind

FOOT_M: Final = 0.3048
KNOT_M_S: Final = 1852.0 / 3600.0
# A civilian fixed-wing aircraft (APP-6(D) air, entity 120100), neutral.
CIVIL_AIRCRAFT_SIDC: Final = "10040100001201000000"
EMERGENCY_SQUAWKS: Final = {
    "7500": "unlawful interference",
    "7600": "radio failure",
    "7700": "emergency",
}
MAX_AIRCRAFT: Final = 50_000
CE_M: Final = 50.0


class Aircraft:
    __slots__ = ("alt", "callsign", "lat", "lon", "speed", "squawk", "track")

    def __init__(self) -> None:
        self.callsign: str | None = None
        self.alt: float | None = None
        self.speed: float | None = None
        self.track: float | None = None
        self.squawk: str | None = None
        self.lat: float | None = None
        self.lon: float | None = None


def subject_of(icao: str) -> str:
    return f"icao-{icao.lower()}"


def _valid_icao(text: str) -> bool:
    return len(text) == 6 and all(ch in "0123456789abcdefABCDEF" for ch in text)


def _clean(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum() or ch in "-_").upper()


class _Fleet:
    def __init__(self) -> None:
        self._aircraft: OrderedDict[str, Aircraft] = OrderedDict()

    def get(self, icao: str) -> Aircraft:
        aircraft = self._aircraft.get(icao)
        if aircraft is None:
            aircraft = self._aircraft[icao] = Aircraft()
            if len(self._aircraft) > MAX_AIRCRAFT:
                self._aircraft.popitem(last=False)
        return aircraft

    @staticmethod
    def squawked(icao: str, aircraft: Aircraft, squawk: str, out: Decoded) -> None:
        if squawk == aircraft.squawk:
            return
        before, aircraft.squawk = aircraft.squawk, squawk
        subject, lat, lon = subject_of(icao), aircraft.lat, aircraft.lon
        if before is not None and before in EMERGENCY_SQUAWKS:
            meaning = EMERGENCY_SQUAWKS[before]
            ended = Squawk(
                subject=subject, code=before, meaning=meaning, cleared=True, lat=lat, lon=lon
            )
            out.squawks.append(ended)
        if squawk in EMERGENCY_SQUAWKS:
            meaning = EMERGENCY_SQUAWKS[squawk]
            out.squawks.append(
                Squawk(subject=subject, code=squawk, meaning=meaning, lat=lat, lon=lon)
            )

    @staticmethod
    def sighting(icao: str, aircraft: Aircraft, age_s: float = 0.0) -> Sighting | None:
        if aircraft.lat is None or aircraft.lon is None:
            return None
        remarks = ""
        if aircraft.squawk in EMERGENCY_SQUAWKS:
            remarks = f"squawk {aircraft.squawk}: {EMERGENCY_SQUAWKS[aircraft.squawk]}"
        moving = aircraft.track is not None and aircraft.speed is not None
        return Sighting(
            subject=subject_of(icao),
            kind=SourceKind.SENSOR,
            lat=aircraft.lat,
            lon=aircraft.lon,
            alt=aircraft.alt,
            ce=CE_M,
            course=aircraft.track if moving else None,
            speed=aircraft.speed if moving else None,
            sidc=CIVIL_AIRCRAFT_SIDC,
            name=aircraft.callsign,
            remarks=remarks,
            age_s=age_s,
        )


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class SbsDecoder:
    """The BaseStation stream: one ``MSG`` line per message."""

    def __init__(self) -> None:
        self._lines = LineBuffer(1024)
        self._fleet = _Fleet()

    def take(self, data: bytes, now: float, *, whole: bool = False) -> Decoded:
        out = Decoded()
        for line in self._lines.lines(data, out.problems, whole=whole):
            self.line(line, out)
        return out

    def line(self, line: bytes, out: Decoded) -> None:
        fields = line.decode("ascii", "replace").split(",")
        if fields[0] != "MSG" or len(fields) < 22:
            out.problems.append("not an SBS-1 MSG line")
            return
        icao = fields[4].strip()
        if not _valid_icao(icao):
            out.problems.append("bad ICAO address")
            return
        out.messages += 1
        icao = icao.lower()
        aircraft = self._fleet.get(icao)
        if callsign := _clean(fields[10]):
            aircraft.callsign = callsign
        if (alt := _number(fields[11])) is not None:
            aircraft.alt = alt * FOOT_M
        speed, track = _number(fields[12]), _number(fields[13])
        if speed is not None and track is not None and speed >= 0:
            aircraft.speed, aircraft.track = speed * KNOT_M_S, track % 360.0
        lat, lon = _number(fields[14]), _number(fields[15])
        positioned = lat is not None and lon is not None
        if lat is not None and lon is not None:
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                out.problems.append("position out of range")
                return
            aircraft.lat, aircraft.lon = lat, lon
        if squawk := fields[17].strip():
            self._fleet.squawked(icao, aircraft, squawk, out)
        if not positioned:
            return
        if fields[21].strip() in ("-1", "1"):
            aircraft.alt = 0.0 if aircraft.alt is None else aircraft.alt
        sighting = self._fleet.sighting(icao, aircraft)
        if sighting is not None:
            out.sightings.append(sighting)


class JsonAircraft(msgspec.Struct, kw_only=True):
    hex: str
    flight: str | None = None
    alt_baro: float | str | None = None
    alt_geom: float | None = None
    gs: float | None = None
    track: float | None = None
    lat: float | None = None
    lon: float | None = None
    seen_pos: float | None = None
    squawk: str | None = None


class AircraftJson(msgspec.Struct, kw_only=True):
    now: float | None = None
    aircraft: list[JsonAircraft] = []


_AIRCRAFT_JSON = msgspec.json.Decoder(AircraftJson)
# A position older than this in a poll is not reported again.
MAX_POSITION_AGE_S: Final = 60.0


class AircraftJsonDecoder:
    """readsb / dump1090 ``aircraft.json``: each document is a snapshot of every aircraft;
    each aircraft with a position is one message."""

    def __init__(self) -> None:
        self._fleet = _Fleet()

    def take(self, data: bytes, now: float, *, whole: bool = False) -> Decoded:
        out = Decoded()
        try:
            document = _AIRCRAFT_JSON.decode(data)
        except (msgspec.DecodeError, ValueError):
            out.problems.append("not an aircraft.json document")
            return out
        for entry in document.aircraft:
            self.aircraft(entry, out)
        return out

    def aircraft(self, entry: JsonAircraft, out: Decoded) -> None:
        icao = entry.hex.strip().lstrip("~")
        if not _valid_icao(icao):
            out.problems.append("bad ICAO address")
            return
        icao = icao.lower()
        aircraft = self._fleet.get(icao)
        if entry.flight and (callsign := _clean(entry.flight)):
            aircraft.callsign = callsign
        if isinstance(entry.alt_baro, int | float) and math.isfinite(entry.alt_baro):
            aircraft.alt = float(entry.alt_baro) * FOOT_M
        elif entry.alt_baro == "ground":
            aircraft.alt = 0.0
        gs, track = entry.gs, entry.track
        if gs is not None and track is not None and math.isfinite(gs + track) and gs >= 0:
            aircraft.speed, aircraft.track = gs * KNOT_M_S, track % 360.0
        fresh = entry.lat is not None and entry.lon is not None
        age = entry.seen_pos or 0.0
        if not (math.isfinite(age) and 0 <= age <= MAX_POSITION_AGE_S):
            fresh = False
        if fresh and entry.lat is not None and entry.lon is not None:
            if not (-90 <= entry.lat <= 90 and -180 <= entry.lon <= 180):
                out.problems.append("position out of range")
                return
            aircraft.lat, aircraft.lon = entry.lat, entry.lon
        if entry.squawk:
            self._fleet.squawked(icao, aircraft, entry.squawk.strip(), out)
        if not fresh:
            return
        out.messages += 1
        sighting = self._fleet.sighting(icao, aircraft, age)
        if sighting is not None:
            out.sightings.append(sighting)
