"""One TAK client's connection: framing, the protocol negotiation, pings, timeouts, and its
writer.

The first byte tells the framing: ``<`` is a stream of CoT XML events, ``0xbf`` TAK
protocol version 1 (what pytak sends without negotiating). A client that negotiates
(``t-x-takp-q``) is answered in XML and switched to protobuf from the next byte. A bad
event is logged and dropped; the events after it still count. Nothing is read from a
client before its principal is known, and a client that sends nothing for the idle time
is closed, so a silent one never holds anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from tessera.codecs.cot import CotError, CotEvent, parse_event
from tessera.codecs.cot_framing import FramingError, TakStreamFramer, XmlEventSplitter, sniff
from tessera.codecs.cot_proto import decode_payload
from tessera.codecs.cot_reports import negotiation_offer
from tessera.core.model import Principal
from tessera.transports.cot_stream.outbox import Outbox
from tessera.transports.cot_stream.wire import PROTOBUF, XML, WireEvent

if TYPE_CHECKING:
    from tessera.transports.cot_stream.server import CotServer

log = logging.getLogger(__name__)
MAX_EARLY_BYTES = 1 << 20


class CotSession(asyncio.Protocol):
    """An asyncio protocol: bytes in are framed and handed to the server; the outbox is
    written out whenever the transport can take more."""

    def __init__(self, server: CotServer, *, kind: str, gateway: bool = False) -> None:
        self.server = server
        self.kind = kind
        # A gateway of many units (a plain port so configured) has no uid of its own:
        # each uid it reports without a link is a unit of its own.
        self.gateway = gateway
        self.principal: Principal | None = None
        self.own_uid: str | None = None
        # Over TLS: the client certificate's fingerprint, and whether own_uid is bound to
        # it (then the client owns that uid as a source); a uid it was refused.
        self.fingerprint: str | None = None
        self.uid_bound = False
        self.refused_uid: str | None = None
        # How addressed events name it: the callsign and team of its own position.
        self.callsign: str | None = None
        self.team: str | None = None
        # What it sends is taken one batch at a time, in order.
        self.intake_lock = asyncio.Lock()
        self.address = "unknown"
        self.outbox = Outbox(max_messages=server.settings.cot_max_queued_messages)
        self.form: str | None = None
        self._transport: asyncio.Transport | None = None
        self._early: list[bytes] = []
        self._early_size = 0
        self._xml = XmlEventSplitter(server.settings.cot_max_event_bytes)
        self._frames = TakStreamFramer(server.settings.cot_max_event_bytes)
        self._writable = asyncio.Event()
        self._writable.set()
        self._tasks: list[asyncio.Task[None]] = []
        self.last_heard = 0.0
        self.counts = {"events": 0, "rejected": 0, "reports": 0, "relayed": 0}

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if peer else "unknown"
        self.last_heard = asyncio.get_running_loop().time()
        limits = self.server.settings.cot_write_buffer_bytes
        transport.set_write_buffer_limits(high=limits, low=limits // 4)
        self._tasks.append(asyncio.create_task(self._start(), name="cot-session"))

    def data_received(self, data: bytes) -> None:
        self.last_heard = asyncio.get_running_loop().time()
        if self.principal is None:
            # Still finding out who this is: keep what arrives, within reason.
            self._early_size += len(data)
            if self._early_size > MAX_EARLY_BYTES:
                self.close("sent too much before it was identified")
                return
            self._early.append(data)
            return
        self._feed(data)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        for task in self._tasks:
            task.cancel()
        self.server.forget(self)

    # -- life ---------------------------------------------------------------------------

    async def _start(self) -> None:
        timeout = self.server.settings.cot_handshake_timeout_s
        try:
            identified = await asyncio.wait_for(self.server.identify(self), timeout)
        except TimeoutError:
            identified = f"not identified within {timeout:g} s"
        if isinstance(identified, str):
            self.server.refuse(self, identified, target=self.fingerprint or "")
            return
        self.principal = identified
        await self.server.welcome(self)
        self._tasks.append(asyncio.create_task(self._write(), name="cot-writer"))
        self._tasks.append(asyncio.create_task(self._watch_idle(), name="cot-idle"))
        early, self._early = self._early, []
        for data in early:
            self._feed(data)
        if self.form != PROTOBUF:
            # Offer TAK protocol version 1, as TAK servers do; a client that wants it asks.
            offer = negotiation_offer(now=self.server.tessera.clock())
            self.send_now(WireEvent(offer), XML)

    def add_task(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` for as long as the connection lives."""
        task = asyncio.create_task(work)
        self._tasks = [t for t in self._tasks if not t.done()]
        self._tasks.append(task)

    def transport_object(self) -> asyncio.Transport | None:
        return self._transport

    def closing(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    def close(self, reason: str) -> None:
        log.info("closing CoT client %s: %s", self.address, reason)
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    async def _write(self) -> None:
        transport = self._transport
        assert transport is not None
        while not transport.is_closing():
            await self.outbox.wait()
            await self._writable.wait()
            data = self.outbox.drain(self.form or XML)
            if data:
                transport.write(data)

    async def _watch_idle(self) -> None:
        idle = self.server.settings.cot_idle_timeout_s
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(idle, 5.0))
            if loop.time() - self.last_heard > idle:
                self.close(f"silent for {idle:g} s")
                return

    # -- input --------------------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        if self.form is None:
            stripped = data.lstrip()
            if not stripped:
                return
            self.form = PROTOBUF if sniff(stripped[0]) == PROTOBUF else XML
        events: list[CotEvent] = []
        if self.form == XML:
            self._feed_xml(data, events)
        else:
            self._feed_protobuf(data, events)
        if events:
            self.server.received(self, events)

    def _feed_xml(self, data: bytes, events: list[CotEvent]) -> None:
        try:
            documents = self._xml.feed(data)
        except FramingError as exc:
            self._reject(str(exc))
            documents = self._xml.feed(b"")
        for document in documents:
            try:
                events.append(parse_event(document))
            except CotError as exc:
                self._reject(str(exc))

    def _feed_protobuf(self, data: bytes, events: list[CotEvent]) -> None:
        try:
            payloads = self._frames.feed(data)
        except FramingError as exc:
            # A broken length prefix leaves no way to find the next frame: end it clearly.
            self._reject(str(exc))
            self.close("the TAK protocol stream lost its framing")
            return
        for payload in payloads:
            try:
                events.append(decode_payload(payload))
            except CotError as exc:
                self._reject(str(exc))

    def _reject(self, reason: str) -> None:
        self.counts["rejected"] += 1
        log.warning("CoT client %s sent a bad event (dropped): %s", self.address, reason)

    # -- output -------------------------------------------------------------------------

    def send_now(self, wire: WireEvent, form: str | None = None) -> None:
        """Write one control event straight away (answers to pings and negotiation)."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(wire.encoded(form or self.form or XML))

    def switch_to_protobuf(self) -> None:
        self.form = PROTOBUF
