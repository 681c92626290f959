"""GeoChat as TAK apps write it: who a message is for (All Chat Rooms, a teammate, a
group, a team) and the GeoChat a web user's message becomes."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.codecs.cot import parse_event
from tessera.codecs.cot_chat import (
    ALL_CHAT_ROOMS,
    addressing,
    chat_recipients,
    geochat_event,
    is_room_message,
    sender_callsign,
)
from tessera.codecs.cot_routing import Destinations
from tests.codecs.cot_samples import require_data_dir

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def sample(name: str) -> bytes:
    return (require_data_dir() / "cot-samples" / name).read_bytes()


def chat_xml(room: str, room_id: str, members: dict[str, str], marti: str = "") -> bytes:
    grp = " ".join(f'{key}="{value}"' for key, value in members.items())
    return (
        f'<event version="2.0" uid="GeoChat.S.{room}.1" type="b-t-f" how="h-g-i-g-o" '
        'time="2026-05-04T09:30:00Z" start="2026-05-04T09:30:00Z" '
        'stale="2026-05-05T09:30:00Z"><point lat="0" lon="0" hae="0" ce="9999999" '
        f'le="9999999"/><detail><__chat chatroom="{room}" id="{room_id}" '
        f'senderCallsign="SENDER"><chatgrp {grp} id="{room_id}"/></__chat>{marti}'
        "<remarks>hello</remarks></detail></event>"
    ).encode()


def test_a_direct_message_from_atak_is_for_its_one_teammate() -> None:
    for name, teammate in (
        ("atak-geochat-b-t-f__taky.xml", "ANDROID-cafebabe"),
        ("atak-geochat-p2p__atak-forwarder.xml", "ANDROID-355499060918435"),
    ):
        event = parse_event(sample(name))
        assert chat_recipients(event) == Destinations(uids=frozenset({teammate}))
        assert not is_room_message(event)


def test_a_mission_message_goes_by_its_marti_not_to_everyone() -> None:
    event = parse_event(sample("atak-geochat-mission-b-t-f__takserver.xml"))
    assert addressing(event) == Destinations(missions=frozenset({"jimmy"}))
    # Without its marti it would be for the team "Green", still not for everyone.
    assert chat_recipients(event) == Destinations(groups=frozenset({"Green"}))


def test_all_chat_rooms_is_for_everyone() -> None:
    event = parse_event(
        chat_xml(ALL_CHAT_ROOMS, ALL_CHAT_ROOMS, {"uid0": "S", "uid1": ALL_CHAT_ROOMS})
    )
    assert chat_recipients(event) is None and addressing(event) is None
    assert is_room_message(event)


def test_a_group_message_is_for_its_members_and_not_its_sender() -> None:
    members = {"uid0": "S", "uid1": "A", "uid2": "B", "uid3": "S"}
    event = parse_event(chat_xml("Patrol", "patrol-group", members))
    assert chat_recipients(event) == Destinations(uids=frozenset({"A", "B"}))


def test_a_private_room_naming_nobody_readable_goes_to_no_one() -> None:
    # A room whose id is the event's own uid names no team: it is for no one.
    xml = chat_xml("X", "GeoChat.S.X.1", {"uid0": "S"})
    assert chat_recipients(parse_event(xml)) == Destinations()


@settings(max_examples=200, deadline=None)
@given(
    members=st.lists(
        st.text(alphabet="ABCDEFGHIJ-0123456789", min_size=1, max_size=12),
        min_size=1,
        max_size=6,
        unique=True,
    ).filter(lambda uids: "S" not in uids)
)
def test_a_private_message_is_never_for_everyone_nor_its_sender(members: list[str]) -> None:
    grp = {"uid0": "S"} | {f"uid{n + 1}": uid for n, uid in enumerate(members)}
    found = chat_recipients(parse_event(chat_xml("room", members[0], grp)))
    assert found is not None
    assert found.uids == frozenset(members)
    assert not found.names(uid="S", callsign="SENDER", group=None)


def test_a_web_message_is_a_geochat_to_all_chat_rooms() -> None:
    event = geochat_event(
        sender_uid="tessera-web.nato-officer",
        callsign="nato-officer",
        message_id="m1",
        text="[COP] hello <team> & all",
        lat=0.0,
        lon=0.0,
        now=NOW,
        stale_s=60,
    )
    assert event.type == "b-t-f"
    assert event.uid == "GeoChat.tessera-web.nato-officer.All Chat Rooms.m1"
    assert event.remarks == "[COP] hello <team> & all"
    assert sender_callsign(event) == "nato-officer"
    assert event.chat_room == ALL_CHAT_ROOMS and is_room_message(event)
    assert 'uid0="tessera-web.nato-officer"' in event.detail_xml
