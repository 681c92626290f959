"""The CoT relay over core NATS: the scale-out deployment's gateways sharing what their
TAK clients send.

Two subjects under the deployment's ``cot_share_prefix``: ``<prefix>.events``, where
every process publishes what its own clients share and every other process listens, and
``<prefix>.sync``, where a process that joins (or reconnects after an outage) asks what
its peers hold; each peer answers on the asker's own inbox with what its own clients
shared and is still current. Nobody answers for another process's clients, and nothing
received is published again, so nothing loops and each item comes from where it was
shared.

Core NATS, not JetStream: this is live sharing (a position is worth its next update,
seconds later), and what must not be lost is journaled anyway. Core NATS keeps one
publisher's messages in order for each subscriber, delivers with no store in between,
and keeps nothing to clean up. The connection does not echo this process's own messages,
and the origin in each message is checked as well.

``share`` never blocks: messages wait in a bounded queue (the oldest dropped, and
counted, when it is full) for the sender task. A message that does not decode is logged
and dropped; the subscription goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Final

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg

from tessera.codecs.cot import CotEvent
from tessera.codecs.cot_share import (
    SharedEvent,
    ShareError,
    decode_shared,
    decode_sync_request,
    encode_shared,
    encode_sync_request,
)
from tessera.core.model import Label
from tessera.relay.base import CotRelay, Item, PeerLink

log = logging.getLogger(__name__)
_CLOSE_TIMEOUT: Final = 3.0
_YIELD_EVERY: Final = 256


class NatsRelay(CotRelay):
    def __init__(
        self,
        servers: str | Sequence[str],
        *,
        origin: str,
        prefix: str = "tessera.cot",
        max_queued: int = 10_000,
    ) -> None:
        super().__init__(origin)
        self._servers = [servers] if isinstance(servers, str) else list(servers)
        self.events_subject = f"{prefix}.events"
        self.sync_subject = f"{prefix}.sync"
        self._queue: deque[bytes] = deque(maxlen=max_queued)
        self._wake = asyncio.Event()
        self._link: PeerLink | None = None
        self._nc: Client | None = None
        self._inbox = ""
        self._sender: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._failing = False
        self.dropped = 0

    async def open(self, link: PeerLink) -> None:
        self._link = link
        nc = await nats.connect(
            servers=self._servers,
            name="tessera-cot-relay",
            no_echo=True,
            max_reconnect_attempts=-1,
            reconnected_cb=self._reconnected,
            disconnected_cb=self._disconnected,
            error_cb=self._error,
        )
        self._nc = nc
        try:
            await nc.subscribe(self.events_subject, cb=self._on_event)
            await nc.subscribe(self.sync_subject, cb=self._on_sync_request)
            self._inbox = nc.new_inbox()
            await nc.subscribe(self._inbox, cb=self._on_recalled)
            await self._ask_peers()
        except BaseException:
            await nc.close()
            raise
        self._sender = asyncio.create_task(self._send_loop(nc), name="cot-relay-sender")

    def share(
        self,
        event: CotEvent,
        label: Label,
        *,
        chat: bool,
        author: str | None = None,
        moderator: bool = False,
    ) -> None:
        if self._nc is None or self._closing:
            return
        data = self._encode(
            self._shared(event, label, chat=chat, author=author, moderator=moderator)
        )
        if data is None:
            return
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(data)
        self._wake.set()

    async def close(self) -> None:
        if self._closing or self._nc is None:
            return
        self._closing = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        if self._sender is not None:
            try:
                await asyncio.wait_for(self._sender, _CLOSE_TIMEOUT)
            except TimeoutError:
                log.warning("CoT relay closed with %d shared events unsent", len(self._queue))
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            await asyncio.wait_for(self._nc.flush(), _CLOSE_TIMEOUT)
        await self._nc.close()
        self._link = None

    # -- sending ------------------------------------------------------------------------

    def _encode(self, shared: SharedEvent) -> bytes | None:
        uid = shared.event.uid
        try:
            data = encode_shared(shared)
        except ShareError as exc:
            log.warning("CoT event %s not shared: %s", uid, exc)
            return None
        if self._nc is not None and len(data) > self._nc.max_payload:
            log.warning("CoT event %s not shared: %d bytes is too large", uid, len(data))
            return None
        return data

    async def _send_loop(self, nc: Client) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                await self._publish(nc, self.events_subject, self._queue.popleft())
            if self._closing:
                return

    async def _publish(self, nc: Client, subject: str, data: bytes) -> None:
        try:
            await nc.publish(subject, data)
        except nats.errors.Error as exc:
            # Live sharing: while NATS is away what cannot be buffered is gone; the next
            # update of each object (and the resync on reconnecting) makes up for it.
            self.dropped += 1
            if not self._failing:
                log.warning("CoT relay: sharing with the other gateways failed: %r", exc)
            self._failing = True
        else:
            self._failing = False

    async def _ask_peers(self) -> None:
        assert self._nc is not None
        await self._nc.publish(
            self.sync_subject, encode_sync_request(self.origin), reply=self._inbox
        )
        await self._nc.flush()

    # -- receiving ----------------------------------------------------------------------

    async def _on_event(self, msg: Msg) -> None:
        if self._link is not None:
            self._take(msg.data, self._link.from_peer)

    async def _on_recalled(self, msg: Msg) -> None:
        # A status from the server (503: nobody else there yet) is no answer; ours carry
        # no headers.
        if self._link is not None and not msg.headers:
            self._take(msg.data, self._link.recalled)

    def _take(self, data: bytes, deliver: Callable[[SharedEvent], None]) -> None:
        try:
            shared = decode_shared(data)
        except ShareError as exc:
            log.warning("shared CoT message dropped: %s", exc)
            return
        if shared.origin == self.origin:
            return
        try:
            deliver(shared)
        except Exception:
            log.exception("shared CoT event from %s not delivered", shared.origin)

    async def _on_sync_request(self, msg: Msg) -> None:
        try:
            origin = decode_sync_request(msg.data)
        except ShareError as exc:
            log.warning("CoT sync request dropped: %s", exc)
            return
        if origin == self.origin or not msg.reply or self._link is None or self._closing:
            return
        task = asyncio.create_task(self._answer(msg.reply, self._link.shared_here()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, reply: str, items: list[Item]) -> None:
        nc = self._nc
        assert nc is not None
        for index, item in enumerate(items):
            data = self._encode(self._recalled(item))
            if data is not None:
                await self._publish(nc, reply, data)
            if index % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)  # a long answer does not hold up everything else

    # -- connection events --------------------------------------------------------------

    async def _reconnected(self) -> None:
        # What the peers' clients shared while this process was cut off is asked again.
        log.info("CoT relay reconnected to NATS")
        if not self._closing:
            # Not from inside the client's reconnecting: a task of its own.
            task = asyncio.create_task(self._ask_again())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _ask_again(self) -> None:
        try:
            await self._ask_peers()
        except (nats.errors.Error, TimeoutError) as exc:
            log.warning("CoT relay: asking the other gateways again failed: %r", exc)

    async def _disconnected(self) -> None:
        if not self._closing:
            log.warning("CoT relay disconnected from NATS")

    async def _error(self, exc: Exception) -> None:
        log.warning("CoT relay: NATS error: %r", exc)
