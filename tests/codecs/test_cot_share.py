"""Shared CoT events between gateways: every event round-trips with its label, chat flag
and origin, and anything else only ever gives a ShareError."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tessera.codecs.cot import CotError, parse_event
from tessera.codecs.cot_share import (
    MAX_AUTHOR_CHARS,
    ORIGIN_PATTERN,
    SharedEvent,
    ShareError,
    decode_shared,
    decode_sync_request,
    encode_shared,
    encode_sync_request,
)
from tessera.core.model import COMMUNITY_PATTERN, Label
from tests.codecs.cot_samples import cot_sample, cot_sample_names
from tests.codecs.test_cot_xml import MINIMAL, events

ORIGIN = "0123456789abcdef0123456789abcdef"
LABEL = Label("RESTRICTED", ("NATO", "UKR"))

labels = st.builds(
    Label,
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=64),
    st.lists(st.from_regex(COMMUNITY_PATTERN, fullmatch=True), max_size=5).map(tuple),
)
origins = st.from_regex(ORIGIN_PATTERN, fullmatch=True)


@st.composite
def shared_events(draw: st.DrawFn) -> SharedEvent:
    return SharedEvent(
        event=draw(events()),
        label=draw(labels),
        chat=draw(st.booleans()),
        origin=draw(origins),
        author=draw(st.none() | st.text(min_size=1, max_size=MAX_AUTHOR_CHARS)),
        moderator=draw(st.booleans()),
    )


def message(**fields: Any) -> bytes:
    """A message built field by field, as a peer that means harm might."""
    base: dict[str, Any] = {
        "v": 1,
        "origin": ORIGIN,
        "chat": False,
        "label": {"classification": "RESTRICTED", "releasable_to": ["NATO"]},
        "event": MINIMAL,
    }
    base.update(fields)
    return msgspec.msgpack.encode({k: v for k, v in base.items() if v is not ...})


@given(shared_events())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_shared_events_round_trip(shared: SharedEvent) -> None:
    assert decode_shared(encode_shared(shared)) == shared


@pytest.mark.parametrize("name", cot_sample_names())
def test_every_sample_round_trips_as_a_shared_event(name: str) -> None:
    shared = SharedEvent(event=parse_event(cot_sample(name)), label=LABEL, chat=True, origin="g1")
    assert decode_shared(encode_shared(shared)) == shared


def test_the_author_and_its_standing_travel_and_are_checked() -> None:
    shared = SharedEvent(event=parse_event(MINIMAL), label=LABEL, chat=False, origin=ORIGIN,
                         author="sgt-kowalski", moderator=True)  # fmt: skip
    assert decode_shared(encode_shared(shared)) == shared
    # Without them (as before), the message is what it was.
    plain = msgspec.structs.replace(shared, author=None, moderator=False)
    assert msgspec.msgpack.decode(encode_shared(plain)).keys() == {
        "v", "origin", "chat", "label", "event"
    }  # fmt: skip
    with pytest.raises(ShareError, match="author"):
        encode_shared(msgspec.structs.replace(shared, author=""))
    for author in ("", "x" * (MAX_AUTHOR_CHARS + 1), 7):
        with pytest.raises(ShareError):
            decode_shared(message(author=author))
    with pytest.raises(ShareError):
        decode_shared(message(moderator="yes"))


def test_an_event_before_1970_travels_too() -> None:
    # TAK protocol could not carry it: the shared form is XML.
    old = parse_event(MINIMAL.replace(b"2026-05-04T09:30:00Z", b"1969-07-20T20:17:00Z"))
    shared = SharedEvent(event=old, label=LABEL, chat=False, origin=ORIGIN)
    assert decode_shared(encode_shared(shared)).event.time == datetime(
        1969, 7, 20, 20, 17, tzinfo=UTC
    )


def test_a_built_message_decodes_and_its_fields_are_checked() -> None:
    shared = decode_shared(message())
    assert (shared.origin, shared.chat, shared.label) == (
        ORIGIN,
        False,
        Label("RESTRICTED", ("NATO",)),
    )
    assert shared.event == parse_event(MINIMAL)
    for broken, reason in (
        (message(v=2), "version 2"),
        (message(origin=""), "origin"),
        (message(origin="x" * 65), "origin"),
        (message(origin="a.b"), "origin"),
        (message(chat="yes"), "chat"),
        (message(label={"classification": ""}), "classification"),
        (message(label={"classification": "S", "releasable_to": ["nato"]}), "releasable_to"),
        (message(label={"classification": "S", "releasable_to": ["X"] * 65}), "releasable_to"),
        (message(label={"classification": "S", "caveat": "x"}), "caveat"),
        (message(event="<event/>"), "event"),
        (message(event=b"<event/>"), "required"),
        (message(event=b"<!DOCTYPE e><event/>"), "DOCTYPE"),
        (message(event=...), "event"),
        (message(extra=1), "extra"),
        (b"", "shared event"),
        (b"\xc1", "shared event"),
        (msgspec.msgpack.encode([1, 2, 3]), "shared event"),
        (message(event=MINIMAL + b" " * 600_000), "larger than"),
    ):
        with pytest.raises(ShareError, match=reason):
            decode_shared(broken)


def test_shared_events_that_cannot_be_written_are_refused() -> None:
    event = parse_event(MINIMAL)
    with pytest.raises(ShareError, match="origin"):
        encode_shared(SharedEvent(event=event, label=LABEL, chat=False, origin="no spaces"))
    bad = msgspec.structs.replace(event, detail_xml="<unclosed>")
    with pytest.raises(ShareError):
        encode_shared(SharedEvent(event=bad, label=LABEL, chat=False, origin=ORIGIN))
    # Nothing is sent that a receiving gateway would refuse as too large.
    big = msgspec.structs.replace(event, remarks="x" * 600_000)
    with pytest.raises(ShareError, match="larger than"):
        encode_shared(SharedEvent(event=big, label=LABEL, chat=False, origin=ORIGIN))


def test_share_errors_are_cot_errors() -> None:
    assert issubclass(ShareError, CotError)


@given(st.binary(max_size=400))
@example(message()[:-1])
@example(message()[:10])
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_give_a_shared_event_or_a_share_error(data: bytes) -> None:
    for decode in (decode_shared, decode_sync_request):
        with contextlib.suppress(ShareError):  # any other exception fails the test
            decode(data)


msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text()
    | st.binary(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["v", "origin", "chat", "label", "event", "x"]), children),
    max_leaves=12,
)  # fmt: skip


@given(msgpack_values)
@settings(max_examples=300, deadline=None)
def test_well_formed_messages_of_the_wrong_shape_give_a_share_error(value: Any) -> None:
    data = msgspec.msgpack.encode(value)
    for decode in (decode_shared, decode_sync_request):
        with contextlib.suppress(ShareError):
            decode(data)


@given(shared_events(), st.binary(min_size=1, max_size=8), st.integers(0, 2_000))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_messages_give_a_shared_event_or_a_share_error(
    shared: SharedEvent, noise: bytes, position: int
) -> None:
    data = encode_shared(shared)
    position %= len(data)
    flipped = bytearray(data)
    flipped[position] ^= noise[0] or 0xFF
    for broken in (data[:position], data[:position] + noise + data[position:], bytes(flipped)):
        with contextlib.suppress(ShareError):
            decoded = decode_shared(broken)
            assert decode_shared(encode_shared(decoded)) == decoded


@given(origins)
def test_sync_requests_round_trip(origin: str) -> None:
    assert decode_sync_request(encode_sync_request(origin)) == origin


def test_bad_sync_requests_are_refused() -> None:
    for broken in (
        msgspec.msgpack.encode({"v": 1}),
        msgspec.msgpack.encode({"v": 2, "origin": ORIGIN}),
        msgspec.msgpack.encode({"v": 1, "origin": "a b"}),
        message(),
    ):
        with pytest.raises(ShareError):
            decode_sync_request(broken)
    with pytest.raises(ShareError):
        encode_sync_request("")
