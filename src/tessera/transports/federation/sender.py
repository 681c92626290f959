"""This node dialling a partner and sending what the link releases: connect, ``Hello``,
resume where the peer's ``Welcome`` says, then batches (a few in flight) and their
acknowledgements; the rooms' chat (``ChatOutbox``) in batches of its own, with a
position of its own, when the peer takes it; quiet, a ``Ping`` now and then. Any failure
(the link cut, no acknowledgement in time, bad frames) closes the connection; it is
dialled again after a wait that doubles up to the link's longest. Nothing is lost: the
peer's position only moves on what it acknowledged."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from tessera.codecs.federation import Ack, Batch, FrameError, Hello, Ping, Refused, Welcome
from tessera.federation.chat_outbox import ChatOutbox
from tessera.federation.outbox import Outbox
from tessera.federation.release import Outgoing
from tessera.federation.status import LinkStatus
from tessera.transports.backoff import Attempt, run_with_backoff
from tessera.transports.federation.wire import FrameStream, TokenBucket

if TYPE_CHECKING:
    from tessera.federation.config import FederationLink
    from tessera.transports.federation.host import Sending

log = logging.getLogger(__name__)
PING_S = 10.0
CONNECT_TIMEOUT_S = 15.0
# A batch in flight: its number, report items, journal position, chat items and position.
InFlight = tuple[int, list[Outgoing], int, int, int]


class LinkRefusedError(RuntimeError):
    """The peer refused this link (it said why)."""


class Sender:
    def __init__(
        self,
        tessera: Sending,
        link: FederationLink,
        status: LinkStatus,
        outbox: Outbox,
        chat_outbox: ChatOutbox,
        context: ssl.SSLContext | None,
    ) -> None:
        self._tessera = tessera
        self._link = link
        self._status = status
        self._outbox = outbox
        self._chat_outbox = chat_outbox
        self._context = context
        self._node = tessera.settings.federation_node or ""
        self._bucket = None if link.rate_bps is None else TokenBucket(link.rate_bps)
        self._logged: set[str] = set()  # the kinds of error logged as warnings

    async def run(self) -> None:
        await run_with_backoff(
            self._attempt,
            self._status,
            self._link,
            failed=self._failed,
            retried=(OSError, TimeoutError, FrameError, LinkRefusedError, ssl.SSLError),
        )

    async def _attempt(self, attempt: Attempt) -> None:
        attempt.up = await self._session()

    def _failed(self, exc: Exception) -> None:
        text = str(exc) or type(exc).__name__
        self._status.last_error = text
        kind = type(exc).__name__
        (log.debug if kind in self._logged else log.warning)(
            "federation link %s (%s): %s", self._link.name, self._link.peer, text
        )
        self._logged.add(kind)

    async def _session(self) -> bool:
        """One connection, until it fails; whether the peer welcomed it."""
        address = self._link.peer_address
        assert address is not None
        host, port = address
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=self._context, limit=1 << 20
            )
        stream = FrameStream(reader, writer, self._status, self._bucket)
        try:
            await stream.send(Hello(self._node))
            welcome = await stream.receive(self._link.ack_timeout_s)
            if isinstance(welcome, Refused):
                raise LinkRefusedError(f"the peer refused the link: {welcome.reason}")
            if not isinstance(welcome, Welcome):
                raise FrameError(f"expected a welcome, got {type(welcome).__name__}")
            self._outbox.resume(welcome.resume)
            self._chat_outbox.resume(welcome.chat_resume)
            status = self._status
            status.peer_node, status.position = welcome.node, welcome.resume
            status.chat_position = welcome.chat_resume
            status.connected, status.state, status.last_error = True, "connected", None
            await self._exchange(stream, welcome.node)
        finally:
            await stream.close()
        return True

    async def _exchange(self, stream: FrameStream, peer: str) -> None:
        outbox, link, status = self._outbox, self._link, self._status
        journal = self._tessera.journal
        chat_outbox = self._chat_outbox
        in_flight: deque[InFlight] = deque()
        number = 0
        loop = asyncio.get_running_loop()
        last_sent = loop.time()
        while True:
            status.journal_seq = journal.last_seq
            # Send while the window allows and there is something to send.
            while len(in_flight) < link.window:
                chat = chat_outbox.batch(peer)
                if chat is not None:
                    items, chat_position = chat
                    number += 1
                    last_sent = loop.time()
                    await stream.send(Batch(number, tuple(items), 0, chat_position))
                    status.chat_sent += len(items)
                    in_flight.append((number, [], 0, len(items), chat_position))
                    continue
                if not outbox.window_open and not await outbox.fill(peer):
                    break
                await outbox.extend(peer)
                batch = outbox.batch()
                if batch is None:
                    break
                sent, position = batch
                quiet = loop.time() - last_sent
                if not sent and quiet < link.position_every_s and outbox.can_hold:
                    # Only a new position (the journal's ticks, what this link does not
                    # release): it waits for items, or its time (position_every_s).
                    outbox.hold()
                    break
                number += 1
                last_sent = loop.time()
                await stream.send(Batch(number, tuple(o.item for o in sent), position))
                status.sent += len(sent)
                in_flight.append((number, sent, position, 0, 0))
                if position:
                    break  # the next window is read once this one is acknowledged
            if in_flight:
                frame = await stream.receive(link.ack_timeout_s)
                if not isinstance(frame, Ack):
                    raise FrameError(f"expected an acknowledgement, got {type(frame).__name__}")
                self._acknowledged(frame, in_flight)
                continue
            # Nothing to send: wait for the journal, pinging now and then.
            quiet = loop.time() - last_sent
            if outbox.window_open:  # a held position: it goes with items, or in its time
                if quiet < link.position_every_s:
                    wait_s = link.position_every_s - quiet
                    await self._wait(journal.wait(outbox.window_end, wait_s), wait_s)
                continue
            if quiet < PING_S:
                await self._wait(journal.wait(outbox.position, PING_S - quiet), PING_S - quiet)
                continue
            if journal.last_seq <= outbox.position:
                last_sent = loop.time()
                await stream.send(Ping(self._tessera.clock()))
                frame = await stream.receive(link.ack_timeout_s)
                if not isinstance(frame, Ack):
                    raise FrameError(f"expected an acknowledgement, got {type(frame).__name__}")

    async def _wait(self, for_journal: Coroutine[Any, Any, Any], timeout: float) -> None:
        """Until the journal (``for_journal``) or the chat journal gains something, or
        ``timeout`` seconds pass."""
        chat_outbox = self._chat_outbox
        if not chat_outbox.enabled:
            await for_journal
            return
        waits = {
            asyncio.ensure_future(for_journal),
            asyncio.ensure_future(self._tessera.chat.wait(chat_outbox.position, timeout)),
        }
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # the journal closing ends the link
        finally:
            for task in waits:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    def _acknowledged(self, ack: Ack, in_flight: deque[InFlight]) -> None:
        status = self._status
        while in_flight and in_flight[0][0] <= ack.number:
            _, sent, position, chat_items, chat_position = in_flight.popleft()
            self._outbox.acknowledged(sent, position)
            status.acked += len(sent) + chat_items
            if chat_position:
                self._chat_outbox.acknowledged(chat_position)
        status.position = self._outbox.position
        if self._chat_outbox.enabled:
            status.chat_position = self._chat_outbox.position
        status.last_ack_at = self._tessera.clock()
