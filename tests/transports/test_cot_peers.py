"""What another gateway's clients shared, as one CoT server's hub takes it: each label
checked per member, control traffic and unknown classifications refused, older states
never replacing newer ones, and only this gateway's own items given to a joining one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from tessera.codecs.cot import CotEvent
from tessera.codecs.cot_share import SharedEvent
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Label, Principal, Role
from tessera.relay.base import Item
from tessera.transports.cot_stream.hub import CommunityHub
from tessera.transports.cot_stream.outbox import Outbox
from tessera.transports.cot_stream.peers import HubLink
from tessera.transports.cot_stream.wire import XML, WireEvent

T0 = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
SCHEME = ClassificationScheme(("UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"))
NATO = Label("RESTRICTED", ("NATO",))
UKR = Label("RESTRICTED", ("UKR",))


@dataclass(eq=False)
class Member:
    principal: Principal | None
    outbox: Outbox = field(default_factory=lambda: Outbox(max_messages=100))
    own_uid: str | None = None
    callsign: str | None = None
    team: str | None = None

    def received(self) -> bytes:
        return self.outbox.drain(XML)


def reader(*communities: str) -> Member:
    principal = Principal(
        name=f"reader-{'-'.join(communities).lower() or 'none'}", communities=communities,
        clearance="RESTRICTED", roles=(Role.VIEWER,),
    )  # fmt: skip
    return Member(principal)


def event(uid: str, *, at: datetime = T0, type_: str = "a-f-G-U-C") -> CotEvent:
    return CotEvent(
        uid=uid, type=type_, how="m-g", time=at, start=at, stale=at + timedelta(minutes=5),
        lat=53.1, lon=18.0,
    )  # fmt: skip


def shared(
    uid: str,
    label: Label = NATO,
    *,
    chat: bool = False,
    at: datetime = T0,
    type_: str | None = None,
) -> SharedEvent:
    kind = type_ or ("b-t-f" if chat else "a-f-G-U-C")
    return SharedEvent(event=event(uid, at=at, type_=kind), label=label, chat=chat, origin="g2")


@pytest.fixture
def hub() -> CommunityHub:
    return CommunityHub(SCHEME)


def link(hub: CommunityHub, now: datetime = T0) -> HubLink:
    return HubLink(hub, SCHEME, lambda: now)


def test_each_member_gets_what_its_principal_may_read(hub: CommunityHub) -> None:
    nato, ukr, nobody = reader("NATO"), reader("UKR"), Member(None)
    for member in (nato, ukr, nobody):
        hub.join(member, T0)
    peers = link(hub)
    peers.from_peer(shared("alpha-1"))
    peers.from_peer(shared("scout-1", UKR))
    peers.from_peer(shared("GeoChat.alpha-1.All.1", chat=True))
    assert b'uid="alpha-1"' in (got := nato.received()) and b"scout-1" not in got
    assert b"GeoChat.alpha-1" in got
    assert b'uid="scout-1"' in (got := ukr.received()) and b"alpha-1" not in got
    assert nobody.received() == b""
    # Kept for later members too, and standing in for fused tracks of the same uid.
    late = reader("NATO")
    hub.join(late, T0 + timedelta(minutes=1))
    assert b"alpha-1" in (got := late.received()) and b"scout-1" not in got
    assert hub.delivers(late, "alpha-1") and not hub.delivers(late, "scout-1")


def test_unknown_classifications_and_control_events_are_refused(hub: CommunityHub) -> None:
    everyone = Member(
        Principal(name="admin", communities=(), clearance="SECRET", unrestricted=True)
    )
    hub.join(everyone, T0)
    peers = link(hub)
    peers.from_peer(shared("alpha-1", Label("COSMIC", ("NATO",))))
    peers.recalled(shared("bravo-1", Label("TOP-SECRET")))
    peers.from_peer(shared("ping", type_="t-x-c-t"))
    assert everyone.received() == b""
    assert peers.counts == {"received": 3, "refused": 3}
    assert not hub.delivers(everyone, "alpha-1")


def test_a_recalled_state_never_replaces_a_newer_one(hub: CommunityHub) -> None:
    member = reader("NATO")
    hub.join(member, T0)
    peers = link(hub)
    peers.from_peer(shared("alpha-1", at=T0 + timedelta(seconds=10)))
    member.received()
    peers.recalled(shared("alpha-1", at=T0))  # older: dropped
    peers.recalled(shared("GeoChat.a.1", chat=True))
    peers.recalled(shared("GeoChat.a.1", chat=True))  # the same message twice: once
    assert member.received().count(b"GeoChat.a.1") == 1
    peers.recalled(shared("alpha-1", at=T0 + timedelta(seconds=20)))  # newer: taken
    assert b"alpha-1" in member.received()
    later = reader("NATO")
    hub.join(later, T0 + timedelta(seconds=30))
    assert later.received().count(b"GeoChat.a.1") == 1


def test_only_this_gateways_own_current_items_are_given_to_a_joining_one(
    hub: CommunityHub,
) -> None:
    sender = reader("NATO")
    hub.join(sender, T0)
    hub.relay(WireEvent(event("mine-1")), NATO, sender=sender, chat=False)
    hub.relay(
        WireEvent(event("mine-old", at=T0 - timedelta(hours=1))), NATO, sender=sender, chat=False
    )
    hub.relay(WireEvent(event("GeoChat.mine.1", type_="b-t-f")), UKR, sender=sender, chat=True)
    peers = link(hub, T0 + timedelta(minutes=1))
    peers.from_peer(shared("theirs-1"))
    peers.from_peer(shared("GeoChat.theirs.1", chat=True))
    assert peers.shared_here() == [
        Item(event("mine-1"), NATO, False),
        Item(event("GeoChat.mine.1", type_="b-t-f"), UKR, True),
    ]


def test_a_peers_chat_to_all_chat_rooms_goes_to_the_rooms_and_a_private_one_does_not(
    hub: CommunityHub,
) -> None:
    said: list[str] = []
    peers = HubLink(hub, SCHEME, lambda: T0, rooms=lambda shared: said.append(shared.event.uid))
    peers.from_peer(shared("GeoChat.alpha-1.All Chat Rooms.1", chat=True))
    peers.recalled(shared("GeoChat.alpha-1.All Chat Rooms.2", chat=True))
    private = SharedEvent(
        event=msgspec.structs.replace(
            event("GeoChat.alpha-1.BRAVO.3", type_="b-t-f"), chat_room="BRAVO", chat_id="bravo-1"
        ),
        label=NATO,
        chat=True,
        origin="g2",
    )
    peers.from_peer(private)
    peers.recalled(private)
    assert said == ["GeoChat.alpha-1.All Chat Rooms.1", "GeoChat.alpha-1.All Chat Rooms.2"]
