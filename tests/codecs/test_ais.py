"""AIS decoding on published sample sentences, and garbage never getting past a clean
error.

Samples (facts, quoted as published):
* gpsd, "AIVDM/AIVDO protocol decoding" (gpsd.gitlab.io/gpsd/AIVDM.html): the type 1
  example (MMSI 477553000, Seattle) and the two-sentence type 5 example (MT.MITCHELL).
* pyais (github.com/M0r13n/pyais), README and tests/test_decode.py: type 1 (MMSI
  367380120), type 18, type 19, type 24 parts A and B (MMSI 338091445) and type 27.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pyais.encode import encode_dict

from tessera.codecs.ais import AisDecoder, distance_m
from tessera.codecs.ais_symbols import ship_sidc
from tessera.core.model import SourceKind
from tessera.core.symbols import sidc_problem

GPSD_TYPE1 = b"!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C"
PYAIS_TYPE1 = b"!AIVDM,1,1,,B,15NG6V0P01G?cFhE`R2IU?wn28R>,0*05"
GPSD_TYPE5 = (
    b"!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E",
    b"!AIVDM,2,2,3,B,1@0000000000000,2*55",
)
PYAIS_TYPE18 = b"!AIVDO,1,1,,A,B5NJ;PP2aUl4ot5Isbl6GwsUkP06,0*35"
PYAIS_TYPE19 = b"!AIVDM,1,1,,B,C5N3SRgPEnJGEBT>NhWAwwo862PaLELTBJ:V00000000S0D:R220,0*0B"
PYAIS_TYPE24A = b"!AIVDO,1,1,,A,H52KMe@Pm>0Htt85800000000000,0*36"
PYAIS_TYPE24B = b"!AIVDM,1,1,,A,H52KMeDU653hhhi0000000000000,0*1A"
PYAIS_TYPE27 = b"!AIVDM,1,1,,B,KC5E2b@U19PFdLbMuc5=ROv62<7m,0*16"


def lines(*sentences: bytes) -> bytes:
    return b"".join(sentence + b"\r\n" for sentence in sentences)


def test_type_1_position_report_keyed_by_mmsi() -> None:
    out = AisDecoder().take(lines(GPSD_TYPE1, PYAIS_TYPE1), 0.0)
    assert out.messages == 2 and not out.problems
    seattle, san_francisco = out.sightings
    assert seattle.subject == "mmsi-477553000"
    assert seattle.kind is SourceKind.AIS
    assert (round(seattle.lat, 6), round(seattle.lon, 6)) == (47.582833, -122.345833)
    assert seattle.course == 51.0 and seattle.speed == 0.0
    assert san_francisco.subject == "mmsi-367380120"
    assert round(san_francisco.speed or 0, 3) == round(0.1 * 1852 / 3600, 3)


def test_multi_sentence_static_data_names_the_vessel() -> None:
    decoder = AisDecoder()
    # The vessel's position first (a type 1 of the same MMSI, made for the test: the
    # type 5 itself carries none), then its two-sentence static report.
    first = decoder.take(lines(*GPSD_TYPE5), 0.0)
    assert first.messages == 1 and not first.sightings and not first.problems
    out = decoder.take(lines(PYAIS_TYPE19), 1.0)
    assert out.sightings[0].name == "CAPT.J.RIMES"
    assert out.sightings[0].sidc == ship_sidc(70)  # cargo


def test_static_data_arriving_after_a_position_renames_at_once() -> None:
    decoder = AisDecoder()
    decoder.take(lines(PYAIS_TYPE19), 0.0)
    out = decoder.take(lines(PYAIS_TYPE24A, PYAIS_TYPE24B), 1.0)
    assert out.messages == 2
    # 338091445 has no position yet: nothing to show; its name is kept for later.
    assert out.sightings == []


def test_class_b_and_long_range_reports() -> None:
    out = AisDecoder().take(lines(PYAIS_TYPE18, PYAIS_TYPE19, PYAIS_TYPE27), 0.0)
    subjects = [sighting.subject for sighting in out.sightings]
    assert subjects == ["mmsi-367430530", "mmsi-367059850", "mmsi-206914217"]
    long_range = out.sightings[2]
    assert (long_range.lat, round(long_range.lon, 3)) == (4.84, 137.023)
    assert long_range.course == 167.0
    assert long_range.ce > out.sightings[0].ce  # tenths of a minute only


def test_ship_types_map_to_sea_surface_symbols() -> None:
    cases = {
        None: "000000",
        30: "140200",  # fishing
        37: "140500",  # pleasure craft
        52: "140111",  # tug
        60: "140110",  # passenger
        70: "140101",  # cargo
        72: "140113",  # cargo carrying dangerous goods
        80: "140109",  # tanker
        35: "120000",  # military operations
    }
    for ship_type, entity in cases.items():
        sidc = ship_sidc(ship_type)
        assert sidc_problem(sidc) is None
        assert sidc[4:6] == "30" and sidc[10:16] == entity, ship_type


def position(mmsi: int, lat: float, lon: float) -> bytes:
    """A type 1 report made with pyais's own encoder."""
    data: dict[str, str | int | float | bytes | bool] = {
        "type": 1,
        "mmsi": mmsi,
        "lat": lat,
        "lon": lon,
        "speed": 12.0,
        "course": 90.0,
    }
    return encode_dict(data, talker_id="AI", sentence_type="VDM")[0].encode()


def test_a_jump_no_vessel_could_make_is_flagged_as_possible_spoofing() -> None:
    decoder = AisDecoder()
    decoder.take(lines(GPSD_TYPE1), 0.0)  # 477553000 in Seattle
    nearby = decoder.take(lines(position(477553000, 47.5840, -122.3400)), 60.0)
    assert nearby.sightings[0].remarks == ""  # 450 m in a minute: a ship can
    jumped = decoder.take(lines(position(477553000, 37.8069, -122.4043)), 120.0)
    assert distance_m(47.584, -122.34, 37.8069, -122.4043) > 1_000_000
    assert "possible AIS spoofing" in jumped.sightings[0].remarks
    assert jumped.sightings[0].subject == "mmsi-477553000"


def test_bad_checksum_and_broken_groups_are_counted_not_raised() -> None:
    decoder = AisDecoder()
    bad_sum = GPSD_TYPE1[:-2] + b"00"
    out = decoder.take(lines(bad_sum, b"$GPGGA,not,ais", GPSD_TYPE5[1]), 0.0)
    assert out.messages == 0 and out.sightings == []
    assert "bad checksum" in out.problems
    assert "multi-sentence message out of order" in out.problems


def test_sentences_split_across_reads_are_joined() -> None:
    decoder = AisDecoder()
    data = lines(GPSD_TYPE1)
    assert decoder.take(data[:20], 0.0).messages == 0
    assert decoder.take(data[20:], 0.0).messages == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=10))
def test_garbage_never_raises(chunks: list[bytes]) -> None:
    decoder = AisDecoder()
    for chunk in chunks:
        out = decoder.take(chunk, 0.0)
        assert out.messages >= 0


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(GPSD_TYPE1) - 1), st.binary(min_size=1, max_size=4))
def test_damaged_sentences_are_clean_errors(at: int, noise: bytes) -> None:
    damaged = GPSD_TYPE1[:at] + noise + GPSD_TYPE1[at + 1 :]
    out = AisDecoder().take(damaged + b"\n", 0.0)
    assert len(out.sightings) <= 1
    for sighting in out.sightings:
        assert -90 <= sighting.lat <= 90 and -180 <= sighting.lon <= 180
