"""ADS-B decoding: SBS-1 BaseStation lines and readsb/dump1090 aircraft.json.

The SBS-1 lines are the examples of the BaseStation port-30003 format description
("SBS-1 BaseStation socket data", woodair.net); the aircraft.json document follows
readsb's README-json.md field by field."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.codecs.adsb import AircraftJsonDecoder, SbsDecoder
from tessera.core.symbols import sidc_problem

SBS_IDENT = (
    b"MSG,1,145,256,7404F2,11267,2008/11/28,23:48:18.611,2008/11/28,23:53:19.161,RJA1118,,,,,,,,,,,"
)
SBS_POSITION = (
    b"MSG,3,496,211,4CA2D6,10057,2008/11/28,14:53:50.594,2008/11/28,14:58:51.153,"
    b",37000,,,51.45735,-1.02826,,,0,0,0,0"
)
SBS_VELOCITY = (
    b"MSG,4,496,469,4CA767,27854,2010/02/19,17:58:13.039,2010/02/19,17:58:13.368,"
    b",,288.6,103.2,,,-832,,,,,"
)


def sbs(icao: str, *, callsign: str = "", lat: str = "", squawk: str = "", kind: int = 3) -> bytes:
    fields = ["MSG", str(kind), "1", "1", icao, "1", "", "", "", "", callsign, "35000", "450",
              "90.0", lat, "15.5" if lat else "", "", squawk, "0", "0", "0", "0"]  # fmt: skip
    return ",".join(fields).encode()


def test_sbs_position_keyed_by_icao_with_altitude_in_metres() -> None:
    out = SbsDecoder().take(b"\r\n".join((SBS_IDENT, SBS_POSITION, SBS_VELOCITY)) + b"\r\n", 0.0)
    assert out.messages == 3 and not out.problems
    [seen] = out.sightings
    assert seen.subject == "icao-4ca2d6"
    assert (seen.lat, seen.lon) == (51.45735, -1.02826)
    assert round(seen.alt or 0) == round(37000 * 0.3048)
    assert seen.sidc is not None and sidc_problem(seen.sidc) is None


def test_callsign_speed_and_track_join_the_position() -> None:
    decoder = SbsDecoder()
    decoder.take(sbs("48520A", callsign="LOT3RK", kind=1) + b"\n", 0.0)
    [seen] = decoder.take(sbs("48520a", lat="54.3") + b"\n", 1.0).sightings
    assert seen.name == "LOT3RK"
    assert seen.course == 90.0 and round(seen.speed or 0, 1) == round(450 * 1852 / 3600, 1)


def test_emergency_squawks_are_flagged_once() -> None:
    decoder = SbsDecoder()
    first = decoder.take(sbs("48520A", lat="54.3", squawk="7700") + b"\n", 0.0)
    again = decoder.take(sbs("48520A", lat="54.31", squawk="7700") + b"\n", 1.0)
    assert [(s.code, s.meaning) for s in first.squawks] == [("7700", "emergency")]
    assert again.squawks == []
    assert "squawk 7700" in again.sightings[0].remarks
    for code in ("7500", "7600"):
        hijack = SbsDecoder().take(sbs("3C6444", lat="50", squawk=code) + b"\n", 0.0)
        assert hijack.squawks[0].code == code


def test_aircraft_json() -> None:
    document = {
        "now": 1700000000.0,
        "messages": 100,
        "aircraft": [
            {"hex": "4ca2d6", "flight": "RYR4TX  ", "alt_baro": 37000, "gs": 430.1,
             "track": 270.0, "lat": 54.1, "lon": 15.2, "seen_pos": 1.5, "squawk": "7600"},
            {"hex": "~2b0c4e", "alt_baro": "ground", "lat": 54.2, "lon": 15.3, "seen_pos": 0},
            {"hex": "406b90", "alt_baro": 12000},
            {"hex": "zzz", "lat": 1, "lon": 1},
        ],
    }  # fmt: skip
    out = AircraftJsonDecoder().take(json.dumps(document).encode(), 0.0, whole=True)
    assert [s.subject for s in out.sightings] == ["icao-4ca2d6", "icao-2b0c4e"]
    airliner, taxiing = out.sightings
    assert airliner.name == "RYR4TX" and airliner.age_s == 1.5
    assert taxiing.alt == 0.0
    assert out.squawks[0].code == "7600"
    assert out.problems == ["bad ICAO address"]


def test_bad_input_is_counted() -> None:
    out = SbsDecoder().take(b"MSG,3,x\nhello\nMSG" + b",1" * 21 + b"\n", 0.0)
    assert out.problems == ["not an SBS-1 MSG line", "not an SBS-1 MSG line", "bad ICAO address"]
    assert AircraftJsonDecoder().take(b"{", 0.0).problems == ["not an aircraft.json document"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_sbs_garbage_never_raises(chunks: list[bytes]) -> None:
    decoder = SbsDecoder()
    for chunk in chunks:
        decoder.take(chunk, 0.0)


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.text(max_size=8) | st.integers(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=20,
    )
)
def test_aircraft_json_garbage_never_raises(document: object) -> None:
    payload = {"aircraft": [document]} if isinstance(document, dict) else document
    try:
        data = json.dumps(payload).encode()
    except ValueError:
        return
    AircraftJsonDecoder().take(data, 0.0, whole=True)
