"""CoT XML and TAK protocol payloads: real samples parse, events round-trip through both
encodings, and hostile input only ever gives a CotError."""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from tessera.codecs.cot import CotError, CotEvent, encode_event, parse_event
from tessera.codecs.cot_model import cot_time, xml_text_problem
from tessera.codecs.cot_proto import decode_payload, encode_payload
from tessera.codecs.cot_safe_xml import canonical_xml
from tests.codecs.cot_samples import cot_sample, cot_sample_names

T0 = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
MINIMAL = (
    b'<event version="2.0" uid="u-1" type="a-h-G" how="h-e" time="2026-05-04T09:30:00Z"'
    b' start="2026-05-04T09:30:00Z" stale="2026-05-04T09:35:00Z">'
    b'<point lat="53.1" lon="18.0" hae="80" ce="25" le="9999999"/></event>'
)


def minimal_with(**changes: str) -> bytes:
    """MINIMAL with attribute values replaced (``name="old"`` -> ``name="new"``)."""
    data = MINIMAL
    for name, value in changes.items():
        start = data.index(f' {name}="'.encode()) + len(name) + 3
        end = data.index(b'"', start)
        data = data[:start] + value.encode() + data[end:]
    return data


# -- the shared samples ---------------------------------------------------------------------


@pytest.mark.parametrize("name", cot_sample_names())
def test_every_sample_parses_and_round_trips(name: str) -> None:
    event = parse_event(cot_sample(name))
    assert event.time.tzinfo is UTC and event.stale >= event.start
    encoded = encode_event(event)
    assert encoded.startswith(b"<event ") and b"<?xml" not in encoded
    assert parse_event(encoded) == event
    assert decode_payload(encode_payload(event)) == event


def sample(name: str) -> CotEvent:
    return parse_event(cot_sample(name))


def test_self_sa_fields() -> None:
    event = sample("atak-self-sa__atak-forwarder.xml")
    assert (event.uid, event.type, event.how) == ("ANDROID-53af0912586418dc", "a-f-G-U-C", "h-e")
    assert event.time == datetime(2020, 8, 29, 21, 14, 0, 406000, tzinfo=UTC)
    assert (event.lat, event.lon, event.hae) == (
        39.71401955573084,
        -104.99452709918448,
        1586.245787738948,
    )
    assert event.ce is None and event.le is None  # 9999999.0
    assert (event.callsign, event.endpoint) == ("dasuberdog", "192.168.1.159:4242:tcp")
    assert (event.group_name, event.group_role) == ("Orange", "Team Lead")
    assert (event.course, event.speed) == (327.66875837972367, 0.0)
    # TAK protocol's own typed details first, in its attribute order; the rest as sent.
    assert event.detail_xml == (
        '<takv device="GOOGLE PIXEL 4 XL" platform="ATAK-CIV" os="29"'
        ' version="4.0.0.7 (a457ad0d).1597850931-CIV"/>'
        '<precisionlocation geopointsrc="USER" altsrc="DTED2"/><status battery="58"/>'
        '<uid Droid="dasuberdog"/>'
    )


def test_a_typed_element_with_more_than_its_fields_is_kept_whole() -> None:
    event = sample("atak-self-sa__takserver.xml")
    assert event.callsign == "coolata" and event.endpoint == "*:-1:stcp"
    assert '<contact endpoint="*:-1:stcp" phone="19999999999" callsign="coolata"/>' in (
        event.detail_xml
    )
    assert event.time == datetime(2020, 2, 12, 13, 16, 7, tzinfo=UTC)  # no fraction
    assert encode_event(event).count(b"<contact") == 1


def test_geochat_fields() -> None:
    event = sample("atak-geochat-b-t-f__taky.xml")
    assert (event.chat_room, event.chat_sender, event.chat_id) == (
        "JOKER MAN",
        "JENNY",
        "ANDROID-cafebabe",
    )
    assert event.remarks == "test" and event.link_uid == "ANDROID-deadbeef"
    assert "<chatgrp" in event.detail_xml and "<marti>" in event.detail_xml
    mission = sample("atak-geochat-mission-b-t-f__takserver.xml")
    assert (mission.chat_room, mission.remarks, mission.hae) == ("Green", "hey there", None)


def test_markers_and_shapes_keep_their_detail() -> None:
    hostile = sample("atak-hostile-marker-a-h-G__atak-forwarder.xml")
    assert (hostile.ce, hostile.callsign) == (30.0, "Red Market")
    assert hostile.remarks == "Remarks about these bitches"
    assert hostile.link_uid == "ANDROID-53af0912586418dc"
    assert '<height unit="meters" value="6.0">6.0</height>' in hostile.detail_xml
    assert hostile.detail_xml.count("<archive/>") == 2
    rectangle = sample("atak-rectangle-u-d-r__atak-forwarder.xml")
    assert rectangle.detail_xml.count("<link point=") == 4
    route = sample("atak-route-b-m-r__atak-forwarder.xml")
    assert route.detail_xml.count('relation="c"') == 11
    circle = sample("atak-circle-u-d-c-c__atak-forwarder.xml")
    assert "<color>ff0000ff</color>" in circle.detail_xml and circle.remarks == ""


def test_unusual_numbers_times_and_layouts() -> None:
    fileshare = sample("atak-fileshare-b-f-t-r__freetaktest.xml")
    assert fileshare.ce is None and fileshare.le is None  # "nan"
    spi = sample("wintak-spi-b-m-p-s-p-i__freetaktest.xml")
    assert spi.time == datetime(2023, 2, 10, 14, 0, 26, 50000, tzinfo=UTC)  # ".05Z"
    uas = sample("itak-uas-a-f-A-M-H-Q__node-cot.xml")
    assert (uas.hae, uas.ce, uas.course) == (-4919.1, 0.0, -108.9)
    assert uas.access == "Undefined" and "<_uastool" in uas.detail_xml
    assert sample("itak-self-sa__ruby-tak.xml").speed == -1.0
    alert = sample("atak-emergency-911-b-a-o-tbl__freetaktest.xml")  # detail before point
    assert (alert.lat, alert.callsign, alert.remarks) == (
        43.84456191618114,
        "corvo-Alert",
        "CALL 911 NOW",
    )
    assert sample("atak-range-bearing-u-rb-a__freetaktest.xml").callsign == "R&B 1"
    ping = sample("atak-ping-t-x-c-t__ruby-tak.xml")
    assert (ping.type, ping.detail_xml, ping.hae) == ("t-x-c-t", "", 0.0)
    assert b"<detail" not in encode_event(sample("server-pong-t-x-c-t-r__ruby-tak.xml"))
    offer = sample("server-takp-v__opentakrouter.xml")
    assert offer.detail_xml == '<TakControl><TakProtocolSupport version="1"/></TakControl>'


# -- generated events: XML <-> model <-> protobuf -------------------------------------------

xml_text = st.text(st.characters(codec="utf-8"), max_size=30).filter(
    lambda text: xml_text_problem(text) is None
)
some_text = xml_text.filter(bool)
xml_names = st.from_regex(r"\A[a-zA-Z_][a-zA-Z0-9_.-]{0,10}\Z")
# Detail elements outside the typed slots and TAK protocol's typed details.
free_tags = st.sampled_from(
    ["archive", "usericon", "color", "marti", "dest", "height", "shape", "_flow-tags_", "uid"]
)


def finite(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


@st.composite
def detail_elements(draw: st.DrawFn, depth: int = 0) -> etree._Element:
    element = etree.Element(draw(free_tags))
    for name in draw(st.lists(xml_names, max_size=3, unique=True)):
        element.set(name, draw(xml_text))
    if depth < 2 and draw(st.booleans()):
        element.extend(draw(st.lists(detail_elements(depth + 1), min_size=1, max_size=2)))
    elif draw(st.booleans()):
        element.text = draw(xml_text)
    return element


cot_times = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(cot_time)
cot_types = st.sampled_from(["a-f-G-U-C", "a-h-G", "b-t-f", "u-d-r", "t-x-c-t", "b-m-p-s-p-i"])


@st.composite
def events(draw: st.DrawFn) -> CotEvent:
    optional: dict[str, Any] = {
        name: draw(st.none() | xml_text)
        for name in (
            "callsign",
            "endpoint",
            "group_name",
            "group_role",
            "remarks",
            "chat_room",
            "chat_sender",
            "chat_id",
            "sidc",
            "link_uid",
        )
    }
    detail = draw(st.lists(detail_elements(), max_size=3))
    return CotEvent(
        uid=draw(some_text),
        type=draw(cot_types),
        how=draw(st.sampled_from(["m-g", "h-e", "h-g-i-g-o", "m-f", ""])),
        time=draw(cot_times),
        start=draw(cot_times),
        stale=draw(cot_times),
        lat=draw(finite(-90, 90)),
        lon=draw(finite(-180, 180)),
        hae=draw(st.none() | finite(-12_000, 500_000)),
        ce=draw(st.none() | finite(0, 100_000)),
        le=draw(st.none() | finite(0, 100_000)),
        access=draw(st.none() | some_text),
        qos=draw(st.none() | some_text),
        opex=draw(st.none() | some_text),
        course=draw(st.none() | finite(-360, 720)),
        speed=draw(st.none() | finite(-1, 10_000)),
        detail_xml="".join(canonical_xml(element) for element in detail),
        **optional,
    )


@given(events())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_events_round_trip_through_xml_and_protobuf(event: CotEvent) -> None:
    from_xml = parse_event(encode_event(event))
    assert from_xml == event
    from_proto = decode_payload(encode_payload(from_xml))
    assert from_proto == event
    assert parse_event(encode_event(from_proto)) == event


def test_unknowns_travel_as_cot_writes_them() -> None:
    event = parse_event(MINIMAL)
    assert (event.hae, event.ce, event.le) == (80.0, 25.0, None)
    assert b'le="9999999.0"' in encode_event(event)
    assert event.detail_xml == "" and event.callsign is None


def test_times_with_offsets_long_fractions_or_no_zone() -> None:
    event = parse_event(
        minimal_with(
            time="2023-02-10T14:00:26.0512345+02:00",
            start="2023-02-10T12:00:26",
            stale="2023-02-10T12:00:26.9Z",
        )
    )
    assert event.time == datetime(2023, 2, 10, 12, 0, 26, 51000, tzinfo=UTC)
    assert event.start == datetime(2023, 2, 10, 12, 0, 26, tzinfo=UTC)
    assert event.stale == datetime(2023, 2, 10, 12, 0, 26, 900000, tzinfo=UTC)
    assert b'time="2023-02-10T12:00:26.051Z"' in encode_event(event)


def test_non_finite_numbers_are_written_as_unknown() -> None:
    event = CotEvent(**{**_fields(parse_event(MINIMAL)), "hae": math.nan, "ce": math.inf})
    assert b'hae="9999999.0" ce="9999999.0"' in encode_event(event)
    again = decode_payload(encode_payload(event))
    assert (again.hae, again.ce) == (None, None)


# -- hostile and broken input ---------------------------------------------------------------

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]>"
    + MINIMAL.replace(b'uid="u-1"', b'uid="&lol9;"')
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE event [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    + MINIMAL.replace(b"</event>", b"<detail><remarks>&x;</remarks></detail></event>")
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not well-formed"),
        (b"garbage", "not well-formed"),
        (MINIMAL[:-5], "not well-formed"),
        (b"<other/>", "root element must be 'event'"),
        (MINIMAL.replace(b' uid="u-1"', b""), "event: attribute 'uid' is required"),
        (MINIMAL.replace(b' how="h-e"', b""), "event: attribute 'how' is required"),
        (minimal_with(time="yesterday"), "event: attribute 'time' is not an ISO 8601 time"),
        (minimal_with(stale="2026-13-01T00:00:00Z"), "attribute 'stale' is not a valid time"),
        (minimal_with(type="a f G"), "event: attribute 'type' must be a CoT type"),
        (minimal_with(lat="91"), "point: attribute 'lat' must be a latitude"),
        (minimal_with(lon="nan"), "point: attribute 'lon' must be a longitude"),
        (minimal_with(hae="high"), "point: attribute 'hae' is not a number"),
        (MINIMAL.replace(b'<point lat="53.1" lon="18.0" hae="80" ce="25" le="9999999"/>', b""),
         "event: element 'point' is required"),
        (BILLION_LAUGHS, "DOCTYPE and ENTITY declarations are not allowed"),
        (EXTERNAL_ENTITY, "DOCTYPE and ENTITY declarations are not allowed"),
        (b"<!DOCTYPE event>" + MINIMAL, "DOCTYPE and ENTITY declarations are not allowed"),
        (b'<?xml-stylesheet href="x"?>' + MINIMAL, "processing instructions are not allowed"),
        (MINIMAL.replace(b"</event>", b"<detail><?php x?></detail></event>"),
         "processing instructions are not allowed"),
        ('<?xml version="1.0" encoding="UTF-16"?>'.encode("utf-16") + MINIMAL, "not well-formed"),
    ],
)  # fmt: skip
def test_bad_documents_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(CotError, match=message) as caught:
        parse_event(data)
    assert type(caught.value) is CotError


def nested(depth: int) -> bytes:
    return MINIMAL.replace(
        b"</event>", b"<detail>" + b"<a>" * depth + b"</a>" * depth + b"</detail></event>"
    )


def test_size_and_depth_limits() -> None:
    with pytest.raises(CotError, match="larger than 100 bytes"):
        parse_event(MINIMAL, max_bytes=100)
    assert parse_event(nested(20)).detail_xml.count("</a>") == 19
    with pytest.raises(CotError, match="deeper than 32 levels"):
        parse_event(nested(40))
    with pytest.raises(CotError):
        parse_event(nested(5000), max_bytes=1 << 20)
    with pytest.raises(CotError, match="re-serialised"):
        parse_event(
            MINIMAL.replace(b"</event>", b"<detail><x a='" + b'"' * 200 + b"'/></detail></event>"),
            max_bytes=len(MINIMAL) + 300,
        )


def test_truncations_of_a_sample_are_refused() -> None:
    data = cot_sample("atak-geochat-b-t-f__taky.xml")
    whole = parse_event(data)
    for length in range(len(data) + 1):
        with contextlib.suppress(CotError):
            assert parse_event(data[:length]) == whole


@given(st.binary(max_size=400))
@example(b"<event")
@example(b"\xef\xbb\xbf" + MINIMAL)
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_give_an_event_or_a_cot_error(data: bytes) -> None:
    for decode in (parse_event, decode_payload):
        with contextlib.suppress(CotError):  # any other exception fails the test
            decode(data)


@st.composite
def mutated_samples(draw: st.DrawFn) -> bytes:
    data = bytearray(cot_sample(draw(st.sampled_from(cot_sample_names()))))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "insert" or position == len(data):
            data[position:position] = draw(
                st.sampled_from(
                    [b"<", b">", b"&", b'"', b"<?x?>", b"&lol;", b"<!DOCTYPE a>", b"\x00"]
                )
            )
        elif action == "flip":
            data[position] = draw(st.integers(0, 255))
        else:
            del data[position : position + draw(st.integers(1, 20))]
    return bytes(data)


@given(mutated_samples())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_samples_give_an_event_or_a_cot_error(data: bytes) -> None:
    try:
        event = parse_event(data)
    except CotError:
        return
    assert parse_event(encode_event(event)) == event


@given(events(), st.binary(min_size=1, max_size=8), st.integers(0, 400))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_payloads_give_an_event_or_a_cot_error(
    event: CotEvent, noise: bytes, position: int
) -> None:
    payload = encode_payload(event)
    position %= len(payload)
    for broken in (payload[:position], payload[:position] + noise + payload[position:]):
        with contextlib.suppress(CotError):  # any other exception fails the test
            decoded = decode_payload(broken)
            assert parse_event(encode_event(decoded)) == decoded


def test_events_that_cannot_be_written_are_refused() -> None:
    event = parse_event(MINIMAL)
    for change in (
        {"uid": "bad\x00uid"},
        {"how": "h-\x1b"},
        {"detail_xml": "<unclosed>"},
        {"detail_xml": "loose text"},
        {"lat": 95.0},
        {"type": ""},
    ):
        broken = CotEvent(**{**_fields(event), **change})
        with pytest.raises(CotError):
            encode_event(broken)
        with pytest.raises(CotError):
            encode_payload(broken)
    before_1970 = CotEvent(**{**_fields(event), "time": datetime(1969, 12, 31, tzinfo=UTC)})
    with pytest.raises(CotError, match="before 1970"):
        encode_payload(before_1970)
    assert parse_event(encode_event(before_1970)) == before_1970


def test_text_xml_cannot_carry_is_written_as_the_replacement_character() -> None:
    event = parse_event(MINIMAL)
    odd = CotEvent(
        **{**_fields(event), "callsign": "bell\x07", "remarks": "nul\x00", "access": "\uffff"}
    )
    for written in (parse_event(encode_event(odd)), decode_payload(encode_payload(odd))):
        assert (written.callsign, written.remarks, written.access) == (
            "bell\ufffd",
            "nul\ufffd",
            "\ufffd",
        )


def test_protobuf_specific_refusals() -> None:
    with pytest.raises(CotError, match="no cotEvent"):
        decode_payload(b"")
    event = parse_event(MINIMAL)
    timeless = encode_payload(
        CotEvent(**{**_fields(event), "time": datetime(1970, 1, 1, tzinfo=UTC)})
    )
    with pytest.raises(CotError, match="'sendTime' is missing"):
        decode_payload(timeless)
    with pytest.raises(CotError, match="larger than"):
        decode_payload(encode_payload(event), max_bytes=10)
    later = CotEvent(**{**_fields(event), "stale": T0 + timedelta(days=1)})
    assert decode_payload(encode_payload(later)).stale == T0 + timedelta(days=1)


def _fields(event: CotEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in event.__struct_fields__}
