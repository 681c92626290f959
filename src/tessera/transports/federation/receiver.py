"""A partner dialling this node: who it is (its certificate's CA, or without TLS its
node id), ``Welcome`` with where it resumes, then each batch taken in (``Intake``),
journaled and acknowledged; chat items said in the rooms (``federation.chat``), the chat
position recorded likewise once they are. A protocol this node does not speak is
refused, saying so. Provenance is recorded before the journal append and the
position after it, so an item in the journal always has its origin and path, and a
position never runs ahead of what is durable."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from tessera.codecs.federation import (
    OLDEST_PROTOCOL,
    PROTOCOL,
    Ack,
    Batch,
    ChatItem,
    FrameError,
    Hello,
    Ping,
    Refused,
    Welcome,
)
from tessera.federation.chat import take_chat
from tessera.federation.config import FederationLink
from tessera.federation.intake import Intake
from tessera.federation.state import FederationState
from tessera.federation.status import FederationBoard, LinkStatus
from tessera.journal.base import JournalClosedError
from tessera.transports.federation.tls import link_of_certificate
from tessera.transports.federation.wire import FrameStream

if TYPE_CHECKING:
    from tessera.transports.federation.host import Receiving

log = logging.getLogger(__name__)
# A connected partner says something at least this often (it pings every 10 s).
IDLE_TIMEOUT_S = 60.0
HELLO_TIMEOUT_S = 15.0


class Receiver:
    def __init__(self, tessera: Receiving, state: FederationState, board: FederationBoard) -> None:
        self._tessera = tessera
        self._state = state
        self._board = board
        settings = tessera.settings
        self._node = settings.federation_node or ""
        self._links = settings.federation
        self._tls = settings.federation_tls

    def _link_of(self, writer: asyncio.StreamWriter, hello: Hello) -> FederationLink | None:
        if not self._tls:
            return next((link for link in self._links if link.name == hello.node), None)
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        return None if der is None else link_of_certificate(der, self._links)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        # Counted against no link's status until it says which link it is.
        stream = FrameStream(reader, writer, LinkStatus(self._links[0]))
        try:
            hello = await stream.receive(HELLO_TIMEOUT_S)
            if not isinstance(hello, Hello):
                raise FrameError(f"expected a hello, got {type(hello).__name__}")
            if not OLDEST_PROTOCOL <= hello.protocol <= PROTOCOL:
                reason = (
                    f"federation protocol {hello.protocol} is not spoken here "
                    f"({OLDEST_PROTOCOL} to {PROTOCOL} are)"
                )
                log.warning("federation: refused %s (%s): %s", peer, hello.node, reason)
                await stream.send(Refused(reason))
                return
            link = self._link_of(writer, hello)
            if link is None or hello.node == self._node:
                reason = "no federation link here for this certificate or node"
                log.warning("federation: refused %s (%s): %s", peer, hello.node, reason)
                await stream.send(Refused(reason))
                return
            await self._serve(stream, link, hello.node, hello.protocol)
        except (OSError, TimeoutError, FrameError, JournalClosedError) as exc:
            log.info("federation: connection from %s ended: %s", peer, exc or type(exc).__name__)
        except Exception:  # whatever a partner sends, the listener goes on
            log.exception("federation: connection from %s failed", peer)
        finally:
            await stream.close()

    async def _serve(
        self, stream: FrameStream, link: FederationLink, peer_node: str, protocol: int
    ) -> None:
        tessera = self._tessera
        status = self._board.links[link.name]
        stream.status = status
        status.inbound += 1
        status.peer_node = status.peer_node or peer_node
        intake = Intake(
            link, self._node, tessera.scheme, tessera.ids, tessera.settings.max_future_skew
        )
        ceiling = tessera.scheme.rank(link.ceiling)
        # A protocol 1 sender sends no chat: it is told no chat position.
        chat_resume = self._state.chat_position(link.name) if protocol >= 2 else None
        last = 0
        try:
            await stream.send(Welcome(self._node, self._state.position(link.name), chat_resume))
            while True:
                frame = await stream.receive(IDLE_TIMEOUT_S)
                if isinstance(frame, Ping):
                    await stream.send(Ack(last))
                    continue
                if not isinstance(frame, Batch):
                    raise FrameError(f"expected a batch, got {type(frame).__name__}")
                now = tessera.clock()
                taken = intake.take(frame.items, now)
                if taken.items:
                    self._state.record(taken.provenance)
                    result = await tessera.journal.append(taken.items)
                    status.duplicates += result.duplicates
                    status.received += len(taken.items) - result.duplicates
                    status.last_received_at = now
                if frame.position:
                    self._state.set_position(link.name, frame.position)
                chat = take_chat(
                    [item for item in frame.items if isinstance(item, ChatItem)],
                    link=link.name,
                    node=self._node,
                    ceiling=ceiling,
                    scheme=tessera.scheme,
                    pictures=tessera.chat.pictures.values(),
                    ids=tessera.ids,
                    now=now,
                )
                if chat.messages:
                    said = tessera.chat.relayed(chat.messages)
                    status.chat_received += len(said)
                    status.last_received_at = now
                if frame.chat_position:
                    self._state.set_chat_position(link.name, frame.chat_position)
                refused = taken.above_ceiling + chat.above_ceiling
                status.refused_above_ceiling += refused
                status.refused_loops += taken.loops + chat.loops
                status.refused_implausible += taken.implausible + chat.implausible
                last = frame.number
                await stream.send(Ack(last, refused))
        finally:
            status.inbound -= 1
