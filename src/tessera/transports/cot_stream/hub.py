"""What TAK clients share directly: positions, markers, drawings and chat, relayed to every
connected client whose principal may read the sender's label (DESIGN §3).

A relayed event carries the label its sender's reports get (the source's default label, or
the principal's); one without a label is not relayed. The hub also keeps the latest of
each object (until it goes stale or is deleted) with the principal who shared it, and the
recent chat (each message once), so a client that connects receives the current state at
once, not only what changes later.

An addressed event (``<marti><dest …/>``, ``tessera.codecs.cot_routing``) goes only to the
members it names that may read its label, and is never kept: it is private.

In a deployment of several gateways, what the clients of the others share comes in too
(``tessera.relay``), with the origin it came from, and is relayed and kept exactly the
same way: each member still gets only what its principal may read.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Final, Protocol

from tessera.codecs.cot_routing import Destinations
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Label, Principal
from tessera.security.policy import may_read_label
from tessera.transports.cot_stream.outbox import Outbox
from tessera.transports.cot_stream.wire import WireEvent

# Chat a client is given on connecting: what was said within this long of now.
DEFAULT_CHAT_REPLAY: Final = timedelta(hours=1)


class Member(Protocol):
    """A connected client: who it is, and who it says it is in its own position (its uid,
    callsign and team), which is how addressed events name it."""

    principal: Principal | None
    outbox: Outbox
    own_uid: str | None
    callsign: str | None
    team: str | None


# Reading decisions kept (members times labels) before they are all forgotten: labels
# arriving from other gateways are not bounded by this one's settings.
MAX_DECISIONS = 100_000


class Relayed:
    """``origin``: the gateway whose client shared it, None for one of this gateway's;
    ``author``: the principal whose client shared it, if known."""

    __slots__ = ("author", "label", "origin", "wire")

    def __init__(
        self, wire: WireEvent, label: Label, origin: str | None = None, author: str | None = None
    ) -> None:
        self.wire = wire
        self.label = label
        self.origin = origin
        self.author = author


def may_delete(held: Relayed | None, deleter: str | None, *, moderator: bool) -> bool:
    """Whether a principal (``deleter``; ``moderator``: it has the operator or
    administrator role) may delete what the hub holds as ``held``: its author and a
    moderator may. A delete of something the hub does not hold removes nothing here and
    is passed on, as TAK servers do."""
    if held is None or moderator:
        return True
    return deleter is not None and held.author == deleter


class CommunityHub:
    """``chat_replay``: how far from now a chat's own time may be for a client that
    connects to be given it; None gives none."""

    def __init__(
        self,
        scheme: ClassificationScheme,
        *,
        max_objects: int = 100_000,
        max_chat: int = 200,
        chat_replay: timedelta | None = DEFAULT_CHAT_REPLAY,
    ) -> None:
        self._scheme = scheme
        self._members: dict[int, Member] = {}
        # Decisions per (member, label): a label is judged once per member, not per event.
        self._readable: dict[tuple[int, Label], bool] = {}
        self._objects: OrderedDict[str, Relayed] = OrderedDict()
        # Chat by message uid, oldest first: one message is kept (and replayed) once.
        self._chat: OrderedDict[str, Relayed] = OrderedDict()
        self._max_objects = max_objects
        self._max_chat = max_chat
        self._chat_replay = chat_replay

    def join(self, member: Member, now: datetime) -> None:
        """Add a member and queue the current state it may read, and the recent chat."""
        self._members[id(member)] = member
        for relayed in self._current(now):
            if self._may_read(member, relayed.label):
                member.outbox.put(relayed.wire)
        for relayed in self._recent_chat(now):
            if self._may_read(member, relayed.label):
                member.outbox.put_message(relayed.wire)

    def leave(self, member: Member) -> None:
        self._members.pop(id(member), None)
        key = id(member)
        for decided in [pair for pair in self._readable if pair[0] == key]:
            del self._readable[decided]

    def relay(
        self,
        wire: WireEvent,
        label: Label,
        *,
        sender: Member | None,
        chat: bool,
        origin: str | None = None,
        author: str | None = None,
        destinations: Destinations | None = None,
    ) -> int:
        """Queue ``wire`` for every member but its sender that may read ``label`` (of an
        addressed event, only those its ``destinations`` name); how many. ``origin``
        names the gateway it came from (None: this one). Addressed events are private:
        never kept for members that connect later."""
        if destinations is None:
            relayed = Relayed(wire, label, origin, author)
            if chat:
                self._remember_chat(relayed)
            else:
                self._remember(relayed)
        return self._deliver(wire, label, sender=sender, chat=chat, destinations=destinations)

    def recall(
        self, wire: WireEvent, label: Label, *, chat: bool, origin: str, author: str | None = None
    ) -> int:
        """What a client of another gateway shared before this one heard of it: relayed
        and kept unless the hub already has it, or a newer state of the same object."""
        if chat:
            if wire.key in self._chat:
                return 0
        else:
            known = self._objects.get(wire.key)
            if known is not None and known.wire.event.time >= wire.event.time:
                return 0
        return self.relay(wire, label, sender=None, chat=chat, origin=origin, author=author)

    def held(self, key: str) -> Relayed | None:
        """The object ``key`` as the hub keeps it (its label and author), if it does."""
        return self._objects.get(key)

    def delete(self, wire: WireEvent, key: str, label: Label, *, sender: Member | None) -> int:
        """Forget the object ``key`` and queue the delete ``wire`` for every member but
        its sender that may read ``label``; how many."""
        self._objects.pop(key, None)
        return self._deliver(wire, label, sender=sender, chat=False, destinations=None)

    def shared_here(self, now: datetime) -> list[tuple[Relayed, bool]]:
        """What this gateway's own clients shared and is current (objects, then chat),
        each with whether it is chat: what another gateway asks for when it joins."""
        objects = [(item, False) for item in self._current(now) if item.origin is None]
        return objects + [(item, True) for item in self._recent_chat(now) if item.origin is None]

    def delivers(self, member: Member, key: str) -> bool:
        """Whether ``member`` already gets the object ``key`` straight from its sender."""
        relayed = self._objects.get(key)
        return relayed is not None and self._may_read(member, relayed.label)

    def members(self) -> Iterable[Member]:
        return self._members.values()

    def _deliver(
        self,
        wire: WireEvent,
        label: Label,
        *,
        sender: Member | None,
        chat: bool,
        destinations: Destinations | None,
    ) -> int:
        delivered = 0
        for member in self._members.values():
            if member is sender or not self._may_read(member, label):
                continue
            if destinations is not None and not destinations.names(
                uid=member.own_uid, callsign=member.callsign, group=member.team
            ):
                continue
            if chat:
                member.outbox.put_message(wire)
            else:
                member.outbox.put(wire)
            delivered += 1
        return delivered

    def _remember_chat(self, relayed: Relayed) -> None:
        self._chat.pop(relayed.wire.key, None)
        self._chat[relayed.wire.key] = relayed
        while len(self._chat) > self._max_chat:
            self._chat.popitem(last=False)

    def _recent_chat(self, now: datetime) -> list[Relayed]:
        window = self._chat_replay
        if window is None:
            return []
        return [item for item in self._chat.values() if abs(item.wire.event.time - now) <= window]

    def _remember(self, relayed: Relayed) -> None:
        key = relayed.wire.key
        self._objects.pop(key, None)
        self._objects[key] = relayed
        while len(self._objects) > self._max_objects:
            self._objects.popitem(last=False)

    def _current(self, now: datetime) -> Iterator[Relayed]:
        stale = [key for key, item in self._objects.items() if item.wire.event.stale <= now]
        for key in stale:
            del self._objects[key]
        return iter(list(self._objects.values()))

    def _may_read(self, member: Member, label: Label) -> bool:
        decision_key = (id(member), label)
        decided = self._readable.get(decision_key)
        if decided is None:
            if len(self._readable) >= MAX_DECISIONS:
                self._readable.clear()
            principal = member.principal
            decided = principal is not None and may_read_label(principal, label, self._scheme)
            self._readable[decision_key] = decided
        return decided
