"""What TAK clients share directly: positions, markers, drawings and chat, relayed to every
connected client whose principal may read the sender's label (DESIGN §3).

A relayed event carries the label its sender's reports get (the source's default label, or
the principal's); one without a label is not relayed. The hub also keeps the latest of
each object (until it goes stale) and the most recent chat, so a client that connects
receives the current state at once, not only what changes later.

In a deployment of several gateways, what the clients of the others share comes in too
(``tessera.relay``), with the origin it came from, and is relayed and kept exactly the
same way: each member still gets only what its principal may read.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Protocol

from tessera.core.labels import ClassificationScheme
from tessera.core.model import Label, Principal
from tessera.security.policy import may_read_label
from tessera.transports.cot_stream.outbox import Outbox
from tessera.transports.cot_stream.wire import WireEvent


class Member(Protocol):
    principal: Principal | None
    outbox: Outbox


# Reading decisions kept (members times labels) before they are all forgotten: labels
# arriving from other gateways are not bounded by this one's settings.
MAX_DECISIONS = 100_000


class Relayed:
    """``origin``: the gateway whose client shared it; None for one of this gateway's."""

    __slots__ = ("label", "origin", "wire")

    def __init__(self, wire: WireEvent, label: Label, origin: str | None = None) -> None:
        self.wire = wire
        self.label = label
        self.origin = origin


class CommunityHub:
    def __init__(
        self, scheme: ClassificationScheme, *, max_objects: int = 100_000, max_chat: int = 200
    ) -> None:
        self._scheme = scheme
        self._members: dict[int, Member] = {}
        # Decisions per (member, label): a label is judged once per member, not per event.
        self._readable: dict[tuple[int, Label], bool] = {}
        self._objects: OrderedDict[str, Relayed] = OrderedDict()
        self._chat: deque[Relayed] = deque(maxlen=max_chat)
        self._max_objects = max_objects

    def join(self, member: Member, now: datetime) -> None:
        """Add a member and queue the current state it may read."""
        self._members[id(member)] = member
        for relayed in self._current(now):
            if self._may_read(member, relayed.label):
                member.outbox.put(relayed.wire)
        for relayed in self._chat:
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
    ) -> int:
        """Queue ``wire`` for every member but its sender that may read ``label``; how
        many. ``origin`` names the gateway it came from (None: this one)."""
        relayed = Relayed(wire, label, origin)
        if chat:
            self._chat.append(relayed)
        else:
            self._remember(relayed)
        delivered = 0
        for member in self._members.values():
            if member is sender or not self._may_read(member, label):
                continue
            if chat:
                member.outbox.put_message(wire)
            else:
                member.outbox.put(wire)
            delivered += 1
        return delivered

    def recall(self, wire: WireEvent, label: Label, *, chat: bool, origin: str) -> int:
        """What a client of another gateway shared before this one heard of it: relayed
        and kept unless the hub already has it, or a newer state of the same object."""
        if chat:
            if any(item.wire.key == wire.key for item in self._chat):
                return 0
        else:
            known = self._objects.get(wire.key)
            if known is not None and known.wire.event.time >= wire.event.time:
                return 0
        return self.relay(wire, label, sender=None, chat=chat, origin=origin)

    def shared_here(self, now: datetime) -> list[tuple[Relayed, bool]]:
        """What this gateway's own clients shared and is current (objects, then chat),
        each with whether it is chat: what another gateway asks for when it joins."""
        objects = [(item, False) for item in self._current(now) if item.origin is None]
        return objects + [(item, True) for item in self._chat if item.origin is None]

    def delivers(self, member: Member, key: str) -> bool:
        """Whether ``member`` already gets the object ``key`` straight from its sender."""
        relayed = self._objects.get(key)
        return relayed is not None and self._may_read(member, relayed.label)

    def members(self) -> Iterable[Member]:
        return self._members.values()

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
