"""Element sets in: TLE and CCSDS OMM (XML, JSON, KVN) give the same orbit; bad input is
refused with the set and field named."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.codecs.elements import decode_element_sets
from tessera.codecs.errors import DecodeError
from tessera.core.space.elements import satrec

ISS_TLE = b"""ISS (ZARYA)
1 25544U 98067A   25179.15776912  .00006109  00000+0  11381-3 0  9994
2 25544  51.6349 252.7052 0002263 302.4301  57.6469 15.50279857516861
"""
_FIELDS = {
    "OBJECT_NAME": "ISS (ZARYA)",
    "OBJECT_ID": "1998-067A",
    "EPOCH": "2025-06-28T03:47:11.251968",
    "MEAN_MOTION": "15.50279857",
    "ECCENTRICITY": ".0002263",
    "INCLINATION": "51.6349",
    "RA_OF_ASC_NODE": "252.7052",
    "ARG_OF_PERICENTER": "302.4301",
    "MEAN_ANOMALY": "57.6469",
    "EPHEMERIS_TYPE": "0",
    "CLASSIFICATION_TYPE": "U",
    "NORAD_CAT_ID": "25544",
    "ELEMENT_SET_NO": "999",
    "REV_AT_EPOCH": "51686",
    "BSTAR": ".00011381",
    "MEAN_MOTION_DOT": ".00006109",
    "MEAN_MOTION_DDOT": "0",
}
ISS_JSON = (
    "[{"
    + ",".join(f'"{k}":"{v}"' if k != "NORAD_CAT_ID" else f'"{k}":{v}' for k, v in _FIELDS.items())
    + "}]"
).encode()
ISS_KVN = (
    "CCSDS_OMM_VERS = 2.0\nCREATION_DATE = 2025-06-28T10:00:00\nORIGINATOR = TEST\n"
    "META_START\nMEAN_ELEMENT_THEORY = SGP4\nCENTER_NAME = EARTH\nREF_FRAME = TEME\n"
    "TIME_SYSTEM = UTC\nMETA_STOP\nCOMMENT mean elements\n"
    + "".join(
        f"{k} = {v}{' [rev/day]' if k == 'MEAN_MOTION' else ''}\n" for k, v in _FIELDS.items()
    )
).encode()
_META = ("OBJECT_NAME", "OBJECT_ID")
_MEAN = (
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
)
ISS_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<ndm><omm id="CCSDS_OMM_VERS" version="2.0">'
    "<header><CREATION_DATE/><ORIGINATOR/></header><body><segment><metadata>"
    + "".join(f"<{k}>{_FIELDS[k]}</{k}>" for k in _META)
    + "<CENTER_NAME>EARTH</CENTER_NAME><REF_FRAME>TEME</REF_FRAME><TIME_SYSTEM>UTC</TIME_SYSTEM>"
    "<MEAN_ELEMENT_THEORY>SGP4</MEAN_ELEMENT_THEORY></metadata><data><meanElements>"
    + "".join(f"<{k}>{_FIELDS[k]}</{k}>" for k in _MEAN)
    + "</meanElements><tleParameters>"
    + "".join(f"<{k}>{_FIELDS[k]}</{k}>" for k in _FIELDS if k not in _META and k not in _MEAN)
    + "</tleParameters></data></segment></body></omm></ndm>"
).encode()


@pytest.mark.parametrize("data", [ISS_JSON, ISS_KVN, ISS_XML], ids=["json", "kvn", "xml"])
def test_every_omm_form_propagates_as_the_tle_does(data: bytes) -> None:
    (tle,) = decode_element_sets(ISS_TLE)
    (omm,) = decode_element_sets(data)
    assert (omm.norad_id, omm.name, omm.object_id) == (25544, "ISS (ZARYA)", "1998-067A")
    assert abs((omm.epoch - tle.epoch).total_seconds()) < 1e-3
    jd, fr = 2460855.5, np.linspace(0.0, 3.0, 7)
    _, r_tle, _ = satrec(tle).sgp4_array(np.full(7, jd), fr)
    _, r_omm, _ = satrec(omm).sgp4_array(np.full(7, jd), fr)
    assert np.max(np.abs(r_tle - r_omm)) < 0.01  # km, over three days


def test_two_and_three_line_sets_are_read_and_named() -> None:
    lines = ISS_TLE.decode().splitlines()
    (unnamed,) = decode_element_sets("\n".join(lines[1:]).encode())
    assert unnamed.name == "NORAD 25544"
    (named,) = decode_element_sets(("0 " + ISS_TLE.decode()).encode())
    assert named.name == "ISS (ZARYA)"


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        (ISS_TLE.replace(b"0  9994", b"0  9995"), "tle", "line 1's checksum is wrong"),
        (ISS_TLE[:-30], "tle", "line 2 has"),
        (ISS_JSON.replace(b'"MEAN_MOTION":"15.50279857",', b""), "MEAN_MOTION", "is missing"),
        (ISS_JSON.replace(b"15.50279857", b"fast"), "MEAN_MOTION", "is not a number"),
        (ISS_KVN.replace(b".0002263", b"1.5"), "ECCENTRICITY", "is not between 0 and 1"),
        (ISS_XML.replace(b"2025-06-28T03", b"yesterday"), "EPOCH", "is not an ISO 8601 time"),
        (b"<ndm><omm/></ndm>", "$", "without an OMM segment"),
        (b"hello\nworld\n", "$", "holds no element set"),
        (b"[1, 2]", "$", "is not an OMM object"),
    ],
)
def test_bad_element_sets_are_refused_with_the_field_named(
    data: bytes, field: str, reason: str
) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_element_sets(data)
    assert caught.value.errors[0].field == field
    assert reason in caught.value.errors[0].reason


def _outcome(data: bytes) -> tuple[int, int]:
    """How many sets were read and how many problems were named (one of them is zero)."""
    try:
        return len(decode_element_sets(data)), 0
    except DecodeError as exc:
        return 0, len(exc.errors)


@given(st.binary(max_size=400))
def test_any_bytes_decode_or_are_refused_clearly(data: bytes) -> None:
    sets, problems = _outcome(data)
    assert (sets > 0) != (problems > 0)


@given(st.text(alphabet="0123456789 .+-U12ABCZ\n", max_size=300))
def test_tle_like_text_decodes_or_is_refused_clearly(text: str) -> None:
    sets, problems = _outcome(text.encode())
    assert (sets > 0) != (problems > 0)
