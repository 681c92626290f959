"""The CoT relay: what one process's TAK clients share (positions, markers, drawings,
chat: what its ``CommunityHub`` relays), carried to the other processes of the
deployment, so that any number of gateways behave as one server for TAK clients.

A relay carries, it does not decide: a process hands it what its own clients shared
(``share``), and hands what arrives from its peers to its ``PeerLink``, which checks each
label and lets its hub deliver to the members that may read it. A relay never passes on
what it received (no loops) and ignores what carries its own origin.

It is live sharing, not acknowledged data: what a client sends also becomes reports
through the journal, which is durable. What a peer's clients shared before this process
joined arrives as ``recalled``: the peers' current objects and recent chat, newer states
winning over older ones.

Two implementations, chosen by the settings: ``LocalRelay`` (the embedded default, and
in-process tests: nothing leaves the process) and ``NatsRelay`` (with ``bus_backend =
"nats"``: core NATS subjects under ``cot_share_prefix``). Whoever builds a relay opens it
with its link before use and closes it at shutdown.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple, Protocol

from tessera.codecs.cot import CotEvent
from tessera.codecs.cot_share import SharedEvent
from tessera.core.model import Label


class Item(NamedTuple):
    """Something this process's clients shared, as its hub holds it."""

    event: CotEvent
    label: Label
    chat: bool
    # The principal whose client shared it, if known.
    author: str | None = None


class PeerLink(Protocol):
    """The receiving side: a process's CoT server."""

    def from_peer(self, shared: SharedEvent) -> None:
        """A peer's client shared this just now."""

    def recalled(self, shared: SharedEvent) -> None:
        """A peer's client shared this before this process heard of it."""

    def shared_here(self) -> list[Item]:
        """What this process's own clients shared and is current: what a joining peer
        asks for."""


class CotRelay(ABC):
    def __init__(self, origin: str) -> None:
        # Unique per process: messages carrying it are this process's own.
        self.origin = origin

    def _shared(
        self,
        event: CotEvent,
        label: Label,
        *,
        chat: bool,
        author: str | None = None,
        moderator: bool = False,
    ) -> SharedEvent:
        """What one of this process's clients shared, as it goes to the peers."""
        return SharedEvent(
            event=event,
            label=label,
            chat=chat,
            origin=self.origin,
            author=author,
            moderator=moderator,
        )

    def _recalled(self, item: Item) -> SharedEvent:
        """What this process's clients shared earlier, for a peer that asks."""
        return self._shared(item.event, item.label, chat=item.chat, author=item.author)

    @abstractmethod
    async def open(self, link: PeerLink) -> None:
        """Start receiving for ``link``, and ask the peers for what they hold."""

    @abstractmethod
    def share(
        self,
        event: CotEvent,
        label: Label,
        *,
        chat: bool,
        author: str | None = None,
        moderator: bool = False,
    ) -> None:
        """Send what one of this process's clients shared to the peers; never blocks.
        ``author``: its client's principal; ``moderator``: whether that principal may
        delete what others shared."""

    @abstractmethod
    async def close(self) -> None:
        """Send what is pending (briefly), stop receiving, disconnect."""
