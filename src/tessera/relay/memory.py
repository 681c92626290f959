"""The in-process CoT relay: the embedded default, where there are no peers.

``LocalRelay`` instances that share a ``LocalExchange`` relay to each other, each message
encoded and decoded as it would travel between processes (tests run two CoT servers in
one process this way); a relay without one has an exchange of its own, so nothing is
sent anywhere and sharing costs nothing. Delivery is on the next turn of the event
loop, never inside the sender's call, as a message from another process would be.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from tessera.codecs.cot import CotEvent
from tessera.codecs.cot_share import SharedEvent, ShareError, decode_shared, encode_shared
from tessera.core.model import Label
from tessera.relay.base import CotRelay, PeerLink

log = logging.getLogger(__name__)


class LocalExchange:
    """The relays of one process that share with each other."""

    def __init__(self) -> None:
        self.relays: list[LocalRelay] = []


class LocalRelay(CotRelay):
    def __init__(self, origin: str = "local", exchange: LocalExchange | None = None) -> None:
        super().__init__(origin)
        self._exchange = exchange or LocalExchange()
        self._link: PeerLink | None = None

    async def open(self, link: PeerLink) -> None:
        self._link = link
        peers = self._peers()
        self._exchange.relays.append(self)
        loop = asyncio.get_running_loop()
        for peer in peers:
            assert peer._link is not None
            for item in peer._link.shared_here():
                data = peer._encode(peer._recalled(item))
                if data is not None:
                    loop.call_soon(self._receive, data, link.recalled)

    def share(
        self,
        event: CotEvent,
        label: Label,
        *,
        chat: bool,
        author: str | None = None,
        moderator: bool = False,
    ) -> None:
        peers = self._peers() if self._link is not None else []
        if not peers:
            return
        data = self._encode(
            self._shared(event, label, chat=chat, author=author, moderator=moderator)
        )
        if data is None:
            return
        loop = asyncio.get_running_loop()
        for peer in peers:
            assert peer._link is not None
            loop.call_soon(peer._receive, data, peer._link.from_peer)

    async def close(self) -> None:
        if self in self._exchange.relays:
            self._exchange.relays.remove(self)
        self._link = None

    def _peers(self) -> list[LocalRelay]:
        return [relay for relay in self._exchange.relays if relay is not self and relay._link]

    @staticmethod
    def _encode(shared: SharedEvent) -> bytes | None:
        try:
            return encode_shared(shared)
        except ShareError as exc:
            log.warning("CoT event %s not shared: %s", shared.event.uid, exc)
            return None

    def _receive(self, data: bytes, deliver: Callable[[SharedEvent], None]) -> None:
        if self._link is None:
            return  # closed since
        try:
            shared = decode_shared(data)
        except ShareError as exc:
            log.warning("shared CoT message dropped: %s", exc)
            return
        if shared.origin != self.origin:
            deliver(shared)
