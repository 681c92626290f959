"""Splitting CoT streams: XML events and TAK protocol frames, whatever the chunking."""

from __future__ import annotations

import pytest
import takproto
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.codecs.cot import encode_event, parse_event
from tessera.codecs.cot_framing import (
    FramingError,
    TakStreamFramer,
    WireFormat,
    XmlEventSplitter,
    encode_mesh_frame,
    encode_stream_frame,
    encode_varint,
    parse_mesh_frame,
    read_varint,
    sniff,
)
from tessera.codecs.cot_model import CotError
from tessera.codecs.cot_proto import decode_payload, encode_payload
from tests.codecs.cot_samples import cot_sample, takproto_sample

SAMPLES = (
    "atak-self-sa__goatak.xml",  # declaration, newline and a TAB before <event>
    "atak-geochat-b-t-f__taky.xml",  # no declaration, pretty-printed
    "atak-ping-t-x-c-t__ruby-tak.xml",  # <detail/>
    "wintak-spi-b-m-p-s-p-i__freetaktest.xml",
)


def stream_of(names: tuple[str, ...] = SAMPLES) -> tuple[bytes, list[bytes]]:
    """A stream as clients send it (each event after its declaration and a newline) and
    the events it holds."""
    documents = [cot_sample(name).strip() for name in names]
    return b"\n".join(documents) + b"\n", documents


def split_all(splitter: XmlEventSplitter, chunks: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for chunk in chunks:
        out += splitter.feed(chunk)
    return out


def without_declaration(document: bytes) -> bytes:
    return document[document.index(b"<event") :]


def test_splitting_at_every_byte_boundary_gives_the_same_events() -> None:
    stream, documents = stream_of()
    expected = [without_declaration(document) for document in documents]
    assert split_all(XmlEventSplitter(), [stream]) == expected
    for cut in range(len(stream) + 1):
        assert split_all(XmlEventSplitter(), [stream[:cut], stream[cut:]]) == expected
    one_byte_at_a_time = [stream[i : i + 1] for i in range(len(stream))]
    assert split_all(XmlEventSplitter(), one_byte_at_a_time) == expected
    for event, document in zip(expected, documents, strict=True):
        assert parse_event(event) == parse_event(document)


@given(st.lists(st.integers(0, 4000), max_size=12))
@settings(max_examples=100, deadline=None)
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    stream, documents = stream_of()
    points = sorted({cut % (len(stream) + 1) for cut in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert split_all(XmlEventSplitter(), chunks) == [without_declaration(d) for d in documents]


def test_bytes_between_events_are_ignored() -> None:
    event = encode_event(parse_event(cot_sample("atak-ping-t-x-c-t__ruby-tak.xml")))
    stream = b"junk<evenings/>\r\n" + event + b"  \x00\xff more junk " + event + b"<eve"
    splitter = XmlEventSplitter()
    assert splitter.feed(stream) == [event, event]
    assert splitter.feed(b"nt/>") == []  # "<event/>": an event without an end tag yet


def test_a_bad_event_between_good_ones_is_reported_and_the_next_still_comes_out() -> None:
    good = encode_event(parse_event(cot_sample("atak-ping-t-x-c-t__ruby-tak.xml")))
    broken = good.replace(b"lat=", b"lat==")  # splits fine, then fails to parse
    stream = good + broken + good
    events = XmlEventSplitter().feed(stream)
    assert events == [good, broken, good]
    with pytest.raises(CotError):
        parse_event(events[1])

    truncated = good[: len(good) // 2]  # a new <event> begins before </event>
    splitter = XmlEventSplitter()
    with pytest.raises(FramingError, match="truncated"):
        splitter.feed(good + truncated + good)
    assert splitter.feed(b"") == [good, good]


def test_an_oversized_event_is_refused_and_the_splitter_recovers() -> None:
    good = encode_event(parse_event(cot_sample("atak-ping-t-x-c-t__ruby-tak.xml")))
    huge = good.replace(b"</event>", b"<detail>" + b"<x/>" * 300 + b"</detail></event>")
    splitter = XmlEventSplitter(max_event_bytes=len(good) + 10)
    with pytest.raises(FramingError, match="larger than"):
        splitter.feed(good + huge + good)
    assert splitter.feed(b"") == [good, good]
    # Arriving in pieces: refused before its end arrives, the rest of it skipped.
    splitter = XmlEventSplitter(max_event_bytes=len(good) + 10)
    out: list[bytes] = []
    errors = 0
    for i in range(0, len(huge + good), 7):
        try:
            out += splitter.feed((huge + good)[i : i + 7])
        except FramingError:
            errors += 1
    assert errors == 1 and out + splitter.feed(b"") == [good]


def test_sniff() -> None:
    assert sniff(0xBF) is WireFormat.PROTOBUF
    assert sniff(ord("<")) is sniff(ord(" ")) is sniff(ord("\n")) is WireFormat.XML
    assert sniff(0xEF) is WireFormat.XML  # a UTF-8 byte order mark
    assert sniff(ord("G")) is None  # e.g. an HTTP request on the CoT port


# -- TAK protocol framing -------------------------------------------------------------------


def test_the_takproto_samples_decode_via_the_framers() -> None:
    expected = parse_event(cot_sample("wintak-self-sa__takproto.xml"))
    stream = takproto_sample("wintak-self-sa__takproto.stream.bin")
    framer = TakStreamFramer()
    payloads = [
        payload for byte in range(len(stream)) for payload in framer.feed(stream[byte : byte + 1])
    ]
    assert len(payloads) == 1 and decode_payload(payloads[0]) == expected
    mesh = takproto_sample("wintak-self-sa__takproto.mesh.bin")
    assert decode_payload(parse_mesh_frame(mesh)) == expected
    assert parse_mesh_frame(mesh) == payloads[0]


def test_takproto_reads_what_tessera_frames() -> None:
    event = parse_event(cot_sample("atak-self-sa__atak-forwarder.xml"))
    payload = encode_payload(event)
    for frame in (encode_mesh_frame(payload), encode_stream_frame(payload)):
        message = takproto.parse_proto(bytearray(frame))
        assert message.cotEvent.uid == event.uid
        assert message.cotEvent.detail.contact.callsign == "dasuberdog"
        assert message.cotEvent.detail.takv.platform == "ATAK-CIV"
        assert message.cotEvent.detail.status.battery == 58


def test_a_stream_of_frames_splits_at_every_boundary() -> None:
    payloads = [encode_payload(parse_event(cot_sample(name))) for name in SAMPLES]
    stream = b"".join(encode_stream_frame(payload) for payload in payloads)
    for cut in range(len(stream) + 1):
        framer = TakStreamFramer()
        assert framer.feed(stream[:cut]) + framer.feed(stream[cut:]) == payloads


def test_an_oversized_frame_is_skipped_and_the_stream_stays_in_step() -> None:
    small = encode_payload(parse_event(cot_sample("atak-ping-t-x-c-t__ruby-tak.xml")))
    framer = TakStreamFramer(max_frame_bytes=len(small))
    stream = (
        encode_stream_frame(small) + encode_stream_frame(b"x" * 5000) + encode_stream_frame(small)
    )
    with pytest.raises(FramingError, match="larger than"):
        framer.feed(stream[:3000])
    assert framer.feed(b"") == [small]
    assert framer.feed(stream[3000:]) == [small]


def test_a_bad_magic_byte_breaks_the_stream_for_good() -> None:
    small = encode_payload(parse_event(cot_sample("atak-ping-t-x-c-t__ruby-tak.xml")))
    framer = TakStreamFramer()
    with pytest.raises(FramingError, match="magic byte"):
        framer.feed(encode_stream_frame(small) + b"<event")
    assert framer.feed(b"") == [small]
    with pytest.raises(FramingError, match="out of step"):
        framer.feed(encode_stream_frame(small))
    with pytest.raises(FramingError, match="longer than 10 bytes"):
        TakStreamFramer().feed(b"\xbf" + b"\xff" * 11)


def test_mesh_frames() -> None:
    payload = encode_payload(parse_event(cot_sample("atak-ping-t-x-c-t__ruby-tak.xml")))
    assert parse_mesh_frame(encode_mesh_frame(payload)) == payload
    for datagram, message in (
        (b"", "does not start"),
        (b"<event/>", "does not start"),
        (b"\xbf\x02\xbf" + payload, "unsupported protocol version 2"),
        (b"\xbf\x01\xbf", "empty payload"),
    ):
        with pytest.raises(FramingError, match=message):
            parse_mesh_frame(datagram)


@given(st.integers(0, 2**64 - 1))
def test_varints_round_trip(value: int) -> None:
    encoded = encode_varint(value)
    assert read_varint(encoded, 0) == (value, len(encoded))
    assert read_varint(encoded[:-1], 0) is None


@given(st.binary(max_size=300), st.integers(1, 50))
@settings(max_examples=200, deadline=None)
def test_arbitrary_streams_give_payloads_or_framing_errors(data: bytes, chunk: int) -> None:
    for splitter in (XmlEventSplitter(max_event_bytes=100), TakStreamFramer(max_frame_bytes=100)):
        for i in range(0, len(data), chunk):
            try:
                for piece in splitter.feed(data[i : i + chunk]):
                    assert len(piece) <= 100
            except FramingError:
                pass
