"""The hub's routing of what TAK clients send: addressed events reach exactly the named
members that may read them and are never kept; deletes remove what they name when their
sender may; chat on connecting is recent, readable, public and once per message; and a
peer gateway's events are judged the same way."""

from __future__ import annotations

import math
from datetime import timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.codecs.cot_routing import Destinations
from tessera.codecs.cot_share import SharedEvent
from tessera.core.model import Label, Principal, Role
from tessera.settings import Settings
from tessera.transports.cot_stream.deletes import is_moderator
from tessera.transports.cot_stream.hub import CommunityHub, Relayed, may_delete
from tessera.transports.cot_stream.wire import WireEvent
from tests.transports.test_cot_peers import NATO, SCHEME, T0, UKR, Member, event, link, reader

MARTI_BRAVO = "<marti><dest callsign='BRAVO'/></marti>"


def named(name: str, *communities: str, uid: str, callsign: str, team: str | None = None) -> Member:
    principal = Principal(
        name=name, communities=communities, clearance="RESTRICTED", roles=(Role.VIEWER,)
    )
    return Member(principal, own_uid=uid, callsign=callsign, team=team)


def with_marti(uid: str, marti: str, *, type_: str = "a-h-G") -> SharedEvent:
    addressed = msgspec.structs.replace(event(uid, type_=type_), detail_xml=marti)
    return SharedEvent(event=addressed, label=NATO, chat=type_ == "b-t-f", origin="g2", author="a")


def delete_of(uid: str, key: str) -> SharedEvent:
    delete = msgspec.structs.replace(
        event(uid, type_="t-x-d-d"), detail_xml=f'<link uid="{key}" relation="none"/>'
    )
    return SharedEvent(event=delete, label=NATO, chat=False, origin="g2", author="alpha")


def test_an_addressed_event_from_a_peer_reaches_only_the_named_and_is_not_kept() -> None:
    hub = CommunityHub(SCHEME)
    alpha = named("alpha", "NATO", uid="A-1", callsign="ALPHA", team="Cyan")
    bravo = named("bravo", "NATO", uid="B-1", callsign="BRAVO")
    partner = named("partner", "UKR", uid="U-1", callsign="BRAVO")
    for member in (alpha, bravo, partner):
        hub.join(member, T0)
    peers = link(hub)
    peers.from_peer(with_marti("GeoChat.x.1", MARTI_BRAVO, type_="b-t-f"))
    peers.from_peer(with_marti("marker-1", "<marti><dest uid='B-1'/></marti>"))
    peers.from_peer(with_marti("marker-2", "<marti><dest group='Cyan'/></marti>"))
    peers.from_peer(with_marti("marker-3", "<marti><dest mission='ops'/></marti>"))
    got = bravo.received()
    assert b"GeoChat.x.1" in got and b"marker-1" in got and b"marker-2" not in got
    assert b"<marti>" in got  # kept in the event, as TAK servers do
    got = alpha.received()
    assert b"marker-2" in got and b"marker-1" not in got and b"GeoChat" not in got
    assert partner.received() == b""  # named, but may not read the label
    later = named("later", "NATO", uid="B-1", callsign="BRAVO", team="Cyan")
    hub.join(later, T0)
    assert later.received() == b""
    assert peers.shared_here() == []
    # Never recalled either: a peer keeps no private events to give.
    peers.recalled(with_marti("marker-4", MARTI_BRAVO))
    assert bravo.received() == b"" and peers.counts["refused"] == 1


members = st.lists(
    st.tuples(
        st.sampled_from([("NATO",), ("UKR",), ("NATO", "UKR")]),
        st.sampled_from(["A-1", "B-1", "C-1", None]),
        st.sampled_from(["ALPHA", "BRAVO", None]),
        st.sampled_from(["Cyan", "Red", None]),
    ),
    max_size=8,
)
names = st.frozensets(st.sampled_from(["A-1", "B-1", "C-1", "ALPHA", "BRAVO", "Cyan", "Red"]))


@given(members, names, names, names, st.sampled_from([NATO, UKR]))
def test_an_addressed_event_reaches_exactly_the_named_members_that_may_read_it(
    specs: list[tuple[tuple[str, ...], str | None, str | None, str | None]],
    uids: frozenset[str],
    callsigns: frozenset[str],
    groups: frozenset[str],
    label: Label,
) -> None:
    hub = CommunityHub(SCHEME)
    joined = []
    for communities, uid, callsign, team in specs:
        member = reader(*communities)
        member.own_uid, member.callsign, member.team = uid, callsign, team
        hub.join(member, T0)
        joined.append(member)
    sender = joined[0] if joined else None
    dests = Destinations(callsigns=callsigns, uids=uids, groups=groups)
    count = hub.relay(
        WireEvent(event("marker-1")), label, sender=sender, chat=False, destinations=dests
    )
    reached = [member for member in joined if member.received()]
    expected = [
        member
        for member in joined
        if member is not sender
        and label.releasable_to[0] in member.principal.communities  # type: ignore[union-attr]
        and (member.own_uid in uids or member.callsign in callsigns or member.team in groups)
    ]
    assert reached == expected and count == len(expected)


def test_only_the_author_or_a_moderator_may_delete_and_unknown_items_pass() -> None:
    held = Relayed(WireEvent(event("m")), NATO, author="alpha")
    assert may_delete(held, "alpha", moderator=False)
    assert not may_delete(held, "bravo", moderator=False)
    assert not may_delete(held, None, moderator=False)
    assert may_delete(held, "ops", moderator=True)
    assert not may_delete(Relayed(WireEvent(event("m")), NATO), "alpha", moderator=False)
    assert may_delete(None, "bravo", moderator=False)


def test_a_delete_from_a_peer_removes_the_item_for_those_who_may_read_it() -> None:
    hub = CommunityHub(SCHEME)
    nato, ukr = reader("NATO"), reader("UKR")
    hub.join(nato, T0)
    hub.join(ukr, T0)
    peers = link(hub)
    peers.from_peer(SharedEvent(event=event("m-1"), label=NATO, chat=False, origin="g2",
                                author="alpha"))  # fmt: skip
    peers.from_peer(SharedEvent(event=event("m-2"), label=NATO, chat=False, origin="g2",
                                author="charlie"))  # fmt: skip
    nato.received()
    assert hub.held("m-1") is not None and hub.held("m-1").author == "alpha"  # type: ignore[union-attr]
    peers.from_peer(delete_of("d-1", "m-1"))  # by its author
    peers.from_peer(delete_of("d-2", "m-2"))  # by someone else: refused
    got = nato.received()
    assert b"t-x-d-d" in got and b"d-1" in got and b"d-2" not in got
    assert ukr.received() == b""
    assert hub.held("m-1") is None and hub.held("m-2") is not None
    moderated = msgspec.structs.replace(delete_of("d-3", "m-2"), moderator=True)
    peers.from_peer(moderated)
    assert b"d-3" in nato.received() and hub.held("m-2") is None
    peers.from_peer(delete_of("d-4", "never-seen"))  # passed on with its own label
    assert b"d-4" in nato.received() and ukr.received() == b""
    peers.from_peer(
        msgspec.structs.replace(delete_of("d-5", "x"), event=event("d-5", type_="t-x-d-d"))
    )
    assert nato.received() == b""  # names nothing: refused
    assert peers.counts == {"received": 7, "refused": 2}
    later = reader("NATO")
    hub.join(later, T0)
    assert later.received() == b""


def chat_at(uid: str, minutes: float, label: Label = NATO) -> SharedEvent:
    said = T0 + timedelta(minutes=minutes)
    return SharedEvent(event=event(uid, at=said, type_="b-t-f"), label=label, chat=True,
                       origin="g2")  # fmt: skip


def test_a_member_that_joins_gets_recent_readable_public_chat_once() -> None:
    hub = CommunityHub(SCHEME, chat_replay=timedelta(hours=1))
    peers = link(hub)
    peers.from_peer(chat_at("GeoChat.a.old", -61))
    peers.from_peer(chat_at("GeoChat.a.future", +61))
    peers.from_peer(chat_at("GeoChat.a.recent", -30))
    peers.recalled(chat_at("GeoChat.a.recent", -30))  # relayed and recalled: once
    peers.from_peer(chat_at("GeoChat.a.recent", -30))  # sent again: still once
    peers.from_peer(chat_at("GeoChat.a.partner", -5, UKR))
    peers.from_peer(with_marti("GeoChat.a.private", MARTI_BRAVO, type_="b-t-f"))
    member = named("bravo", "NATO", uid="B-1", callsign="BRAVO")
    hub.join(member, T0)
    got = member.received()
    assert got.count(b"GeoChat.a.recent") == 1
    for absent in (b"a.old", b"future", b"partner", b"private"):
        assert absent not in got


def test_no_chat_is_replayed_when_turned_off() -> None:
    hub = CommunityHub(SCHEME, chat_replay=None)
    link(hub).from_peer(chat_at("GeoChat.a.recent", 0))
    member = reader("NATO")
    hub.join(member, T0)
    assert member.received() == b""


def test_a_moderator_role_is_operator_or_administrator() -> None:
    def principal(*roles: Role) -> Principal:
        return Principal(name="p", communities=("NATO",), clearance="RESTRICTED", roles=roles)

    assert is_moderator(principal(Role.OPERATOR)) and is_moderator(principal(Role.ADMIN))
    assert not is_moderator(principal(Role.VIEWER, Role.REPORTER))


def test_the_chat_window_is_zero_or_more_seconds() -> None:
    Settings(cot_chat_replay_s=0).validate()
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="cot_chat_replay_s"):
            Settings(cot_chat_replay_s=bad).validate()
