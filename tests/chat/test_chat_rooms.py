"""A picture's room: who may say what in it, who reads it, and a TAK user's message to
All Chat Rooms said in every room whose picture admits its label (DESIGN §3)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.chat.service import ChatRefusedError, ChatService
from tessera.chat.sqlite import SqliteChatLog
from tessera.chat.visibility import may_read_message
from tessera.codecs.cot import parse_event
from tessera.core.chat import ChatMessage, ChatVia
from tessera.core.labels import AdmissionRule, ClassificationScheme, Picture
from tessera.core.model import Label, Principal, Role

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
DEFAULT_SCHEME = ClassificationScheme()
NATO = Picture(
    name="NATO",
    rule=AdmissionRule(releasable_to="NATO"),
    reader_communities=("NATO",),
)
UKR = Picture(
    name="REL-UKR",
    rule=AdmissionRule(max_classification="CONFIDENTIAL", releasable_to="UKR"),
    reader_communities=("UKR",),
)
PICTURES = {picture.name: picture for picture in (NATO, UKR)}
OFFICER = Principal(
    name="nato-officer",
    communities=("NATO",),
    clearance="SECRET",
    default_label=Label("RESTRICTED", ("NATO",)),
)
LIAISON = Principal(
    name="ukr-liaison",
    communities=("UKR",),
    clearance="CONFIDENTIAL",
    default_label=Label("RESTRICTED", ("UKR",)),
)
SHARED = Label("RESTRICTED", ("NATO", "UKR"))


@pytest.fixture
def chat() -> Iterator[ChatService]:
    service = ChatService(
        log_=SqliteChatLog(":memory:"), pictures=PICTURES, scheme=DEFAULT_SCHEME, clock=lambda: NOW
    )
    service.start()
    yield service
    service.stop()


def geochat(text: str, uid: str = "GeoChat.ANDROID-1.All Chat Rooms.1") -> bytes:
    return (
        f'<event version="2.0" uid="{uid}" type="b-t-f" how="h-g-i-g-o" '
        'time="2026-05-04T09:29:00Z" start="2026-05-04T09:29:00Z" '
        'stale="2026-05-05T09:30:00Z"><point lat="0" lon="0" hae="0" ce="9999999" '
        'le="9999999"/><detail><__chat chatroom="All Chat Rooms" id="All Chat Rooms" '
        'senderCallsign="ALPHA"><chatgrp uid0="ANDROID-1" uid1="All Chat Rooms" '
        f'id="All Chat Rooms"/></__chat><remarks>{text}</remarks></detail></event>'
    ).encode()


def test_a_web_message_is_journaled_and_read_by_the_room_only(chat: ChatService) -> None:
    inbox = chat.feed.listen()
    said = chat.post(OFFICER, "NATO", "  contact at the bridge\x07 ", None)
    assert said.seq == 1 and said.text == "contact at the bridge"
    assert said.label == OFFICER.default_label and said.via is ChatVia.WEB
    assert said.sender == "nato-officer" and said.sender_uid == "tessera-web.nato-officer"
    assert [m.id for m in chat.history(OFFICER, "NATO", 10)] == [said.id]
    assert chat.history(LIAISON, "NATO", 10) == []
    assert not chat.may_read(LIAISON, said)
    assert inbox._messages[0] == said


def test_a_message_that_may_not_be_said_is_refused(chat: ChatService) -> None:
    cases = [
        (LIAISON, "NATO", "hi", None, 404),
        (OFFICER, "nowhere", "hi", None, 404),
        (OFFICER, "NATO", "   ", None, 400),
        (OFFICER, "NATO", "x" * 4097, None, 400),
        # The picture admits only what is releasable to NATO.
        (OFFICER, "NATO", "hi", Label("RESTRICTED", ("UKR",)), 403),
        (OFFICER, "NATO", "hi", Label("SECRET", ("POL",)), 403),
        (LIAISON, "REL-UKR", "hi", Label("UNCLASSIFIED"), 400),
        (Principal(name="nolabel", communities=("NATO",), clearance="SECRET"), "NATO", "hi",
         None, 400),
    ]  # fmt: skip
    for principal, picture, text, label, status in cases:
        with pytest.raises(ChatRefusedError) as refused:
            chat.post(principal, picture, text, label)
        assert refused.value.status == status, (principal.name, picture, label)
    assert chat.history(OFFICER, "NATO", 10) == []


def test_a_tak_message_is_said_in_each_room_that_admits_its_label(chat: ChatService) -> None:
    shared = chat.heard(parse_event(geochat("all units")), SHARED, author="field", sender_uid="A1")
    assert sorted(m.picture for m in shared) == ["NATO", "REL-UKR"]
    assert {m.sender for m in shared} == {"ALPHA"} and {m.via for m in shared} == {ChatVia.TAK}
    nato_only = chat.heard(
        parse_event(geochat("nato only", uid="GeoChat.ANDROID-1.All Chat Rooms.2")),
        Label("RESTRICTED", ("NATO",)),
        author="field",
        sender_uid="A1",
    )
    assert [m.picture for m in nato_only] == ["NATO"]
    # Heard again (resent, or relayed by a peer): kept once.
    assert chat.heard(parse_event(geochat("all units")), SHARED, author="f", sender_uid="A1") == []
    assert [m.text for m in chat.history(OFFICER, "NATO", 10)] == ["all units", "nato only"]
    assert [m.text for m in chat.history(LIAISON, "REL-UKR", 10)] == ["all units"]


def test_history_is_the_last_messages_oldest_first(chat: ChatService) -> None:
    for n in range(5):
        chat.post(OFFICER, "NATO", f"message {n}", None)
    assert [m.text for m in chat.history(OFFICER, "NATO", 3)] == [
        "message 2", "message 3", "message 4",
    ]  # fmt: skip


LEVELS = st.sampled_from(DEFAULT_SCHEME.levels)
COMMUNITIES = st.lists(st.sampled_from(["NATO", "UKR", "POL"]), max_size=3, unique=True)


@settings(max_examples=300, deadline=None)
@given(
    level=LEVELS,
    releasable=COMMUNITIES,
    clearance=LEVELS,
    communities=COMMUNITIES,
    unrestricted=st.booleans(),
    picture=st.sampled_from(sorted(PICTURES)),
)
def test_a_reader_of_a_message_may_read_its_picture_and_its_label(
    level: str,
    releasable: list[str],
    clearance: str,
    communities: list[str],
    unrestricted: bool,
    picture: str,
) -> None:
    label = Label(level, tuple(releasable))
    reader = Principal(
        name="reader",
        communities=tuple(communities),
        clearance=clearance,
        unrestricted=unrestricted,
        roles=(Role.VIEWER,),
    )
    message = ChatMessage(
        id="m", picture=picture, sender="s", sender_uid="s", author="s", text="t",
        sent_at=NOW, label=label, via=ChatVia.TAK,
    )  # fmt: skip
    if may_read_message(reader, message, PICTURES, DEFAULT_SCHEME):
        assert DEFAULT_SCHEME.rank(level) <= DEFAULT_SCHEME.rank(clearance)
        assert unrestricted or not releasable or set(releasable) & set(communities)
        rule = PICTURES[picture].rule
        assert rule.releasable_to is None or rule.releasable_to in releasable
