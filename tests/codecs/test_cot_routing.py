"""Where an event is meant to go: ``<marti>`` destinations (from real ATAK and TAK Server
samples, in XML and TAK protocol alike) and the uid a delete removes; garbage gives a
CotError or nothing, never anything else."""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.codecs.cot import CotError, CotEvent, parse_event
from tessera.codecs.cot_proto import decode_payload, encode_payload
from tessera.codecs.cot_routing import (
    MAX_DESTINATIONS,
    MAX_NAME_CHARS,
    Destinations,
    deleted_uid,
    destinations,
    is_delete,
)
from tests.codecs.cot_samples import cot_sample
from tests.codecs.test_cot_xml import MINIMAL


def with_detail(detail: str, type_: str = "a-h-G") -> CotEvent:
    head, _, _ = MINIMAL.partition(b"</event>")
    return parse_event(
        head.replace(b'"a-h-G"', f'"{type_}"'.encode()) + detail.encode() + b"</event>"
    )


def test_atak_and_tak_server_samples_name_callsigns_and_missions() -> None:
    taky = destinations(parse_event(cot_sample("atak-geochat-b-t-f__taky.xml")))
    assert taky == Destinations(callsigns=frozenset({"JOKER MAN"}))
    alert = destinations(parse_event(cot_sample("atak-emergency-911-b-a-o-tbl__freetaktest.xml")))
    assert alert is not None and alert.callsigns == {"HelioHQ", "corvo"}
    mission = destinations(parse_event(cot_sample("atak-geochat-mission-b-t-f__takserver.xml")))
    assert mission == Destinations(missions=frozenset({"jimmy"}))


def test_an_event_without_marti_is_for_everyone() -> None:
    assert destinations(parse_event(MINIMAL)) is None
    # Only a <marti> of the detail itself addresses: one inside another element does not.
    assert (
        destinations(with_detail("<detail><x><marti><dest uid='a'/></marti></x></detail>")) is None
    )


def test_uids_groups_and_several_dests_and_martis() -> None:
    event = with_detail(
        "<detail><marti><dest uid='ANDROID-1'/><dest callsign=' BRAVO '/>"
        "<dest group='Cyan'/></marti><marti><dest uid='ANDROID-2' callsign='CHARLIE'/></marti>"
        "</detail>"
    )
    found = destinations(event)
    assert found == Destinations(
        callsigns=frozenset({"BRAVO", "CHARLIE"}),
        uids=frozenset({"ANDROID-1", "ANDROID-2"}),
        groups=frozenset({"Cyan"}),
    )
    assert found.names(uid="ANDROID-2", callsign=None, group=None)
    assert found.names(uid=None, callsign="BRAVO", group=None)
    assert found.names(uid=None, callsign=None, group="Cyan")
    assert not found.names(uid="ANDROID-3", callsign="ALPHA", group="Red")
    assert not found.names(uid=None, callsign=None, group=None)


def test_a_marti_naming_nobody_readable_is_addressed_to_no_one() -> None:
    for detail in (
        "<marti/>",
        "<marti><dest/></marti>",
        "<marti><dest callsign='' uid='  '/><other uid='x'/></marti>",
        "<marti><wrap><dest uid='nested'/></wrap></marti>",
        f"<marti><dest uid='{'u' * (MAX_NAME_CHARS + 1)}'/></marti>",
    ):
        found = destinations(with_detail(f"<detail>{detail}</detail>"))
        assert found == Destinations(), detail
        assert not found.names(uid="nested", callsign="", group=None)


def test_destinations_are_bounded() -> None:
    dests = "".join(f"<dest uid='u{i}'/>" for i in range(MAX_DESTINATIONS + 50))
    found = destinations(with_detail(f"<detail><marti>{dests}</marti></detail>"))
    assert found is not None and len(found.uids) == MAX_DESTINATIONS


def test_addressing_survives_tak_protocol() -> None:
    event = parse_event(cot_sample("atak-emergency-911-b-a-o-tbl__freetaktest.xml"))
    assert destinations(decode_payload(encode_payload(event))) == destinations(event)


def test_an_unreadable_detail_is_a_cot_error() -> None:
    broken = msgspec.structs.replace(parse_event(MINIMAL), detail_xml="<marti><dest uid='a'>")
    with pytest.raises(CotError, match="detail"):
        destinations(broken)


@given(st.text(max_size=300))
def test_any_detail_text_gives_destinations_none_or_a_cot_error(text: str) -> None:
    event = msgspec.structs.replace(parse_event(MINIMAL), detail_xml="<marti>" + text)
    with contextlib.suppress(CotError):
        found = destinations(event)
        assert found is None or isinstance(found, Destinations)
    with contextlib.suppress(CotError):
        deleted = deleted_uid(msgspec.structs.replace(event, type="t-x-d-d"))
        assert deleted is None or 0 < len(deleted) <= MAX_NAME_CHARS


DELETE = "<detail><link uid='marker-1' relation='none' type='none'/><__forcedelete/></detail>"


def test_a_delete_names_the_uid_it_removes() -> None:
    delete = with_detail(DELETE, "t-x-d-d")
    assert is_delete(delete) and deleted_uid(delete) == "marker-1"
    assert deleted_uid(decode_payload(encode_payload(delete))) == "marker-1"
    parent = with_detail("<detail><link uid='marker-2' relation='p-p'/></detail>", "t-x-d-d")
    assert deleted_uid(parent) == "marker-2"


def test_a_delete_without_a_link_or_another_type_names_nothing() -> None:
    assert deleted_uid(with_detail("<detail><__forcedelete/></detail>", "t-x-d-d")) is None
    assert deleted_uid(with_detail("<detail><link uid=''/></detail>", "t-x-d-d")) is None
    assert deleted_uid(parse_event(MINIMAL.replace(b"a-h-G", b"t-x-d-d"))) is None
    assert deleted_uid(with_detail(DELETE)) is None
    assert not is_delete(parse_event(MINIMAL))
