"""Between CoT and Tessera's model: reports from events, events from tracks, control
events."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from tessera.codecs.cot import CotEvent, encode_event, parse_event
from tessera.codecs.cot_proto import decode_payload, encode_payload
from tessera.codecs.cot_reports import (
    DEFAULT_CE_M,
    DEFAULT_HUMAN_CE_M,
    event_to_report,
    is_chat,
    is_negotiation_request,
    is_ping,
    negotiation_offer,
    negotiation_response,
    pong,
    requested_protocol_version,
    safe_identifier,
    track_to_event,
)
from tessera.codecs.json import decode_stored_report, encode_report
from tessera.core.model import (
    ID_PATTERN,
    MAX_HOLD,
    Grading,
    Identity,
    Label,
    Position,
    Report,
    Source,
    SourceKind,
    Track,
    TrackStatus,
    Velocity,
)
from tests.codecs.cot_samples import cot_sample, cot_sample_names

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
LABEL = Label("RESTRICTED", ("NATO",))


def report_of(event: CotEvent, sender_uid: str, now: datetime | None = None) -> Report | None:
    """The report ``event`` makes when received at ``now`` (default: as it was sent)."""
    ids = itertools.count()
    return event_to_report(
        event,
        sender_uid=sender_uid,
        new_id=lambda: f"r-{next(ids)}",
        now=event.time if now is None else now,
        label=LABEL,
    )


def reported_sidc(event: CotEvent) -> str | None:
    report = report_of(event, sender_uid="someone-else")
    assert report is not None
    return report.sidc


def sample(name: str) -> CotEvent:
    return parse_event(cot_sample(name))


def changed(event: CotEvent, **changes: Any) -> CotEvent:
    return msgspec.structs.replace(event, **changes)


def test_an_event_about_its_sender_is_a_unit_self_report() -> None:
    event = sample("atak-self-sa__atak-forwarder.xml")
    report = report_of(event, sender_uid=event.uid)
    assert report is not None
    assert report.source == Source(id="ANDROID-53af0912586418dc", kind=SourceKind.UNIT)
    assert report.subject == "ANDROID-53af0912586418dc"
    assert report.observed_at == event.time
    assert report.identity is Identity.FRIEND
    assert report.sidc == "10031000001209000000"  # a-f-G-U-C: combat
    assert report.position == Position(
        # Placed by hand (how h-e) with no stated error.
        lat=event.lat,
        lon=event.lon,
        alt=event.hae,
        ce=DEFAULT_HUMAN_CE_M,
    )  # ce 9999999: unknown
    assert report.velocity == Velocity(course=327.66875837972367, speed=0.0)
    assert (report.remarks, report.label, report.id) == (
        "dasuberdog (Orange, Team Lead)",
        LABEL,
        "r-0",
    )


def test_an_event_about_something_else_is_a_spot_report() -> None:
    event = sample("atak-hostile-marker-a-h-G__atak-forwarder.xml")
    report = report_of(event, sender_uid="ANDROID-53af0912586418dc")
    assert report is not None
    assert report.source == Source(id="ANDROID-53af0912586418dc", kind=SourceKind.HUMAN)
    assert report.subject == event.uid
    assert (report.identity, report.sidc) == (Identity.HOSTILE, "10061000000000000000")
    assert report.position.ce == 30.0 and report.velocity is None
    assert report.remarks == "Red Market: Remarks about these bitches"


def test_a_units_parent_link_names_its_formation() -> None:
    event = sample("atak-self-sa__atak-forwarder.xml")
    company = changed(event, type="a-f-G-U-C-I", link_uid="2 BN/12 MECH BDE")
    report = report_of(company, sender_uid=event.uid)
    assert report is not None and report.parent == safe_identifier("2 BN/12 MECH BDE")
    assert report_of(changed(company, link_uid=None), sender_uid=event.uid).parent is None  # type: ignore[union-attr]
    # A marker's parent link names who placed it, not a formation.
    marker = sample("atak-hostile-marker-a-h-G__atak-forwarder.xml")
    assert marker.link_uid is not None
    assert report_of(marker, sender_uid="ANDROID-53af0912586418dc").parent is None  # type: ignore[union-attr]


@pytest.mark.parametrize("name", cot_sample_names())
def test_every_report_made_from_a_sample_is_valid(name: str) -> None:
    event = parse_event(cot_sample(name))
    for sender in (event.uid, "ANDROID-other"):
        report = report_of(event, sender_uid=sender)
        if report is not None:
            # Decoding what Tessera stored checks every constraint of the model.
            assert decode_stored_report(encode_report(report)) == report


@pytest.mark.parametrize(
    "name",
    [
        "atak-ping-t-x-c-t__ruby-tak.xml",
        "atak-geochat-b-t-f__taky.xml",
        "atak-rectangle-u-d-r__atak-forwarder.xml",
        "atak-spot-marker-b-m-p-s-m__freetaktest.xml",
        "itak-uas-a-f-A-M-H-Q__node-cot.xml",  # 0°, 0°: no fix yet
    ],
)
def test_events_that_are_not_position_reports_make_none(name: str) -> None:
    event = parse_event(cot_sample(name))
    assert report_of(event, sender_uid=event.uid) is None


def test_the_symbol_comes_from_milsym_and_the_identity_from_the_type() -> None:
    event = sample("atak-hostile-marker-a-h-G__atak-forwarder.xml")
    assert reported_sidc(changed(event, sidc="10061500001202000000")) == "10061500001202000000"
    friendly = changed(event, type="a-f-G", sidc="10061500001202000000")
    report = report_of(friendly, "x")
    assert report is not None and report.identity is Identity.FRIEND
    assert report.sidc == "10031500001202000000"
    assert reported_sidc(changed(event, sidc="SHGPUCI--------")) == "10061000001211000000"
    assert reported_sidc(changed(event, sidc="???")) == "10061000000000000000"


def test_odd_values_are_made_safe() -> None:
    event = sample("itak-self-sa__ruby-tak.xml")
    report = report_of(event, event.uid)
    assert report is not None and report.velocity is None  # speed -1: unknown
    turned = report_of(changed(event, course=-108.9, speed=3.0), event.uid)
    assert turned is not None and turned.velocity == Velocity(course=-108.9 % 360, speed=3.0)
    ahead = changed(event, time=NOW + timedelta(hours=1), stale=NOW + timedelta(hours=2))
    future = report_of(ahead, event.uid, now=NOW)
    assert future is not None and future.observed_at == NOW
    deep = report_of(changed(event, how="m-g", hae=-50_000.0, ce=0.0), event.uid)
    assert deep is not None and deep.position.alt is None and deep.position.ce == DEFAULT_CE_M


def test_uids_that_are_not_identifiers_are_made_into_ones() -> None:
    assert safe_identifier("ANDROID-53af0912586418dc") == "ANDROID-53af0912586418dc"
    odd = [" JOKER MAN", "JOKER_MAN", "JOKER MAN", "é", "x" * 200, "-lead"]
    made = [safe_identifier(uid) for uid in odd]
    assert len(set(made)) == len(made)
    assert all(re.fullmatch(ID_PATTERN, name) for name in made)
    assert safe_identifier("JOKER MAN") == safe_identifier("JOKER MAN")


def track(**changes: Any) -> Track:
    base = Track(
        id="t42",
        position=Position(lat=53.1, lon=18.0, alt=80.0, ce=35.0),
        velocity=Velocity(course=92.0, speed=11.0),
        identity=Identity.HOSTILE,
        identity_confidence=0.87,
        sidc="10061500001202000000",
        status=TrackStatus.CONFIRMED,
        first_at=NOW - timedelta(minutes=5),
        updated_at=NOW - timedelta(seconds=3),
        subject=None,
        quantity=None,
        grading=Grading.parse("B2"),
        label=LABEL,
        sources=(Source("uav-17", SourceKind.UAV),),
        lineage=("r1", "r2"),
        report_count=12,
    )
    return msgspec.structs.replace(base, **changes)


def test_a_track_becomes_a_fused_event() -> None:
    event = track_to_event(
        track(), picture="NATO-SECRET", now=NOW, stale_after=timedelta(minutes=2)
    )
    assert (event.uid, event.type, event.how) == ("tessera-NATO-SECRET-t42", "a-h-G-E-V-A-T", "m-f")
    assert (event.time, event.start, event.stale) == (NOW, NOW, NOW + timedelta(minutes=2))
    assert (event.lat, event.lon, event.hae, event.ce) == (53.1, 18.0, 80.0, 35.0)
    # No unit calls itself so: a short readable name, from a digest of an id not ending
    # in hex digits.
    assert (event.course, event.speed, event.callsign) == (92.0, 11.0, "H TANK 810C")
    assert event.sidc == "10061500001202000000"
    # Where it is, as a soldier reads it: its military grid reference.
    assert event.remarks == (
        "Tessera confirmed track t42 at MGRS 34U BD 99159 87601: hostile (87%), graded B2, "
        "12 reports"
    )
    assert parse_event(encode_event(event)) == event
    assert decode_payload(encode_payload(event)) == event


def test_track_events_follow_the_track() -> None:
    dead = track_to_event(
        track(status=TrackStatus.DEAD), picture="COP", now=NOW, stale_after=timedelta(minutes=2)
    )
    assert dead.stale == dead.time  # clients drop it
    renamed = track_to_event(
        track(subject="ANDROID-1", identity=Identity.FRIEND, velocity=None, report_count=1),
        picture="COP",
        now=NOW + timedelta(microseconds=1500),
        stale_after=timedelta(minutes=2),
    )
    assert renamed.callsign == "ANDROID-1" and renamed.course is None
    called = track_to_event(
        track(subject="ANDROID-1"),
        picture="COP",
        now=NOW,
        stale_after=timedelta(minutes=2),
        own_callsign="ALPHA 1",
    )
    assert called.callsign == "ALPHA 1"
    assert renamed.type == "a-f-G-E-V-A-T" and renamed.sidc == "10031500001202000000"
    assert renamed.time == NOW + timedelta(milliseconds=1)  # CoT times are milliseconds
    assert renamed.remarks is not None and renamed.remarks.endswith("1 report")
    unknown = track_to_event(
        track(sidc="garbage"), picture="COP", now=NOW, stale_after=timedelta(minutes=2)
    )
    assert (unknown.type, unknown.sidc) == ("a-h-G", None)


def test_control_events() -> None:
    ping = sample("atak-ping-t-x-c-t__ruby-tak.xml")
    assert is_ping(ping) and not is_chat(ping) and not is_negotiation_request(ping)
    assert is_chat(sample("atak-geochat-p2p__atak-forwarder.xml"))
    answer = pong(ping, NOW)
    assert (answer.uid, answer.type, answer.how, answer.stale) == (
        "takPong",
        "t-x-c-t-r",
        "h-g-i-g-o",
        NOW + timedelta(seconds=20),
    )
    assert parse_event(encode_event(answer)) == answer
    with pytest.raises(ValueError, match="not a ping"):
        pong(answer, NOW)

    offer = negotiation_offer(now=NOW)
    reference = sample("server-takp-v__opentakrouter.xml")
    assert (offer.type, offer.detail_xml) == (reference.type, reference.detail_xml)
    assert parse_event(encode_event(offer)) == offer


def test_protocol_negotiation() -> None:
    request = parse_event(
        b"<event version='2.0' uid='protouid' type='t-x-takp-q' time='2026-05-04T12:00:00Z'"
        b" start='2026-05-04T12:00:00Z' stale='2026-05-04T12:01:00Z' how='m-g'>"
        b"<point lat='0.0' lon='0.0' hae='0.0' ce='999999' le='999999'/>"
        b'<detail>\n  <TakControl>\n    <TakRequest version="1"/>\n  </TakControl>\n</detail>'
        b"</event>"
    )
    assert is_negotiation_request(request) and requested_protocol_version(request) == 1
    yes = negotiation_response(request, accepted=True, now=NOW)
    assert (yes.uid, yes.type) == ("protouid", "t-x-takp-r")
    assert yes.detail_xml == '<TakControl><TakResponse status="true"/></TakControl>'
    no = negotiation_response(request, accepted=False, now=NOW)
    assert 'status="false"' in no.detail_xml
    assert negotiation_response(accepted=True, now=NOW).uid == "protouid"
    assert parse_event(encode_event(yes)) == yes
    for detail in ("", "<TakControl/>", '<TakControl><TakRequest version="one"/></TakControl>'):
        assert requested_protocol_version(changed(request, detail_xml=detail)) is None
    assert requested_protocol_version(changed(request, type="t-x-takp-v")) is None


def test_stale_how_and_group_are_honoured() -> None:
    event = sample("atak-self-sa__atak-forwarder.xml")
    # Received after its stale time: old news, no report.
    assert report_of(event, sender_uid=event.uid, now=event.stale) is None
    # No stated error (9999999): a machine fix gets the default, a hand-placed one more.
    machine = report_of(changed(event, how="m-g", ce=None), sender_uid=event.uid)
    by_hand = report_of(changed(event, how="h-e", ce=None), sender_uid=event.uid)
    assert machine is not None and by_hand is not None
    assert by_hand.position.ce > machine.position.ce
    # The team rides in the remarks with the callsign.
    assert machine.remarks.startswith("dasuberdog (Orange, Team Lead)")


def test_an_events_stale_time_is_how_long_its_report_holds() -> None:
    event = sample("atak-hostile-marker-a-h-G__atak-forwarder.xml")
    report = report_of(event, sender_uid="ANDROID-53af0912586418dc")
    assert report is not None
    assert report.valid_until == event.stale > report.observed_at
    # A stale time further off than the longest hold is cut to it.
    distant = changed(event, stale=event.time + timedelta(days=365))
    held = report_of(distant, sender_uid="ANDROID-53af0912586418dc")
    assert held is not None and held.valid_until == held.observed_at + MAX_HOLD
    # It is kept in the journal's form of the report.
    assert decode_stored_report(encode_report(report)).valid_until == event.stale
