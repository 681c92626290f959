"""One TAK server link running: connect (TCP or TLS), say who we are, send the releasable
picture and then its changes, journal what the server's other clients share; on any
failure wait (doubling the wait up to the longest) and connect again, sending the whole
releasable picture anew. Bad input is counted and logged once per kind; nothing the
server sends can stop the link."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from typing import TYPE_CHECKING, Final

from tessera.bus.base import Subscriber
from tessera.codecs.cot import CotError, CotEvent, encode_event, parse_event
from tessera.codecs.cot_framing import FramingError, TakStreamFramer, XmlEventSplitter, sniff
from tessera.codecs.cot_proto import decode_payload
from tessera.core.model import Report
from tessera.security.policy import readable_pictures, submission_refusal
from tessera.security.scoping import Submitter
from tessera.store.base import TrackQuery
from tessera.transports.backoff import Attempt, Sleep, run_with_backoff
from tessera.transports.cot_stream.outbox import Outbox
from tessera.transports.cot_stream.wire import PROTOBUF, XML, WireEvent
from tessera.transports.tak_client.config import TakServerConfig
from tessera.transports.tak_client.exchange import Intake, Releaser, Taken, presence
from tessera.transports.tak_client.status import TakLinkStatus

if TYPE_CHECKING:
    from tessera.app import Tessera

log = logging.getLogger(__name__)
CHUNK_BYTES: Final = 64 * 1024
CONNECT_TIMEOUT_S: Final = 15.0
MAX_EVENT_BYTES: Final = 1 << 20


class TakLinkSetupError(RuntimeError):
    """The link cannot run yet: its principal, label or picture is missing or refused."""


class TakServerClosedError(ConnectionError):
    """The TAK server closed the connection."""


class TakLink:
    """``sleep`` waits between attempts (a test passes its own)."""

    def __init__(
        self, tessera: Tessera, config: TakServerConfig, *, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.tessera = tessera
        self.config = config
        self.status = TakLinkStatus(config)
        self.releaser = Releaser(config, tessera.scheme)
        self._sleep = sleep
        self._logged: set[str] = set()

    async def run(self) -> None:
        await run_with_backoff(
            self._attempt,
            self.status,
            self.config,
            failed=self._failed,  # whatever the far end does, the link goes on
            sleep=self._sleep,
        )

    async def _attempt(self, attempt: Attempt) -> None:
        intake, submitter = await self._ready()
        await self._connected(intake, submitter, attempt)

    async def _ready(self) -> tuple[Intake, Submitter]:
        """The principal, the label its reports take and the picture it reads."""
        tessera, config = self.tessera, self.config
        principal = await tessera.security.principal(config.principal)
        if principal is None or principal.disabled:
            raise TakLinkSetupError(f"principal {config.principal!r} does not exist or is disabled")
        picture = tessera.pictures.get(config.picture)
        if picture is None or not readable_pictures(principal, [picture], tessera.scheme):
            raise TakLinkSetupError(
                f"principal {config.principal!r} may not read picture {config.picture!r}"
            )
        label = (
            config.label
            or tessera.settings.source_labels.get(config.name)
            or principal.default_label
        )
        if label is None:
            raise TakLinkSetupError(f"no label: give {config.name!r} a label, or its principal one")
        if refusal := submission_refusal(principal, label, tessera.scheme):
            raise TakLinkSetupError(f"label refused for {config.principal!r}: {refusal}")
        return Intake(config, label, tessera.new_report_id), await tessera.submitter(principal)

    async def _connected(self, intake: Intake, submitter: Submitter, attempt: Attempt) -> None:
        config, status = self.config, self.status
        host, port = config.host_port
        context = None
        if config.scheme == "tls":
            from tessera.transports.tak_client.tls import client_context

            context = client_context(config)
        # asyncio.timeout, not wait_for: a stop arriving as the attempt fails still stops.
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=context, server_hostname=host if context else None
            )
        try:
            status.connected, status.state = True, "connected"
            attempt.up = True  # it was up: the next attempt starts afresh
            status.connected_at = self.tessera.clock()
            log.info("TAK server %s: connected to %s", config.name, config.address)
            # Who we are goes first: some servers relay nothing to an unknown client.
            writer.write(encode_event(presence(config, self.tessera.clock())))
            status.sent += 1
            outbox = Outbox(max_messages=1)
            self.releaser.forget()
            tasks = [
                asyncio.create_task(self._read(reader, intake, submitter)),
                asyncio.create_task(self._send_picture(outbox)),
                asyncio.create_task(self._write(writer, outbox)),
                asyncio.create_task(self._keep_present(outbox)),
            ]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # the reason it ended
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()

    # -- outbound -----------------------------------------------------------------------

    async def _send_picture(self, outbox: Outbox) -> None:
        """The releasable tracks now, then as they change."""
        tessera, picture = self.tessera, self.config.picture
        subscriber = Subscriber(TrackQuery(), visible=None)
        # No await between the snapshot and attaching from its seq: nothing is missed.
        seq, tracks = tessera.store.tracks(picture, TrackQuery())
        subscriber.reset_visible(track.id for track in tracks)
        tessera.bus.attach(picture, subscriber, seq)
        try:
            now = tessera.clock()
            for track in tracks:
                self._queue(outbox, self.releaser.event(track.id, track, now))
            while True:
                changes = await subscriber.take()
                now = tessera.clock()
                for change in changes:
                    if change.kind == "track":
                        self._queue(outbox, self.releaser.event(change.item_id, change.track, now))
        finally:
            tessera.bus.detach(picture, subscriber)

    @staticmethod
    def _queue(outbox: Outbox, event: CotEvent | None) -> None:
        if event is not None:
            outbox.put(WireEvent(event))

    async def _keep_present(self, outbox: Outbox) -> None:
        while True:
            await asyncio.sleep(self.config.presence_s)
            outbox.put(WireEvent(presence(self.config, self.tessera.clock())))

    async def _write(self, writer: asyncio.StreamWriter, outbox: Outbox) -> None:
        while True:
            await outbox.wait()
            pending = outbox.pending()
            data = outbox.drain(XML)
            if data:
                writer.write(data)
                await writer.drain()
                self.status.sent += pending

    # -- inbound ------------------------------------------------------------------------

    async def _read(
        self, reader: asyncio.StreamReader, intake: Intake, submitter: Submitter
    ) -> None:
        xml = XmlEventSplitter(MAX_EVENT_BYTES)
        frames = TakStreamFramer(MAX_EVENT_BYTES)
        form: str | None = None
        while True:
            data = await reader.read(CHUNK_BYTES)
            if not data:
                raise TakServerClosedError(f"{self.config.address} closed the connection")
            if form is None:
                stripped = data.lstrip()
                if not stripped:
                    continue
                form = PROTOBUF if sniff(stripped[0]) == PROTOBUF else XML
            events = self._events(data, xml if form == XML else None, frames)
            await self._take(events, intake, submitter)

    def _events(
        self, data: bytes, xml: XmlEventSplitter | None, frames: TakStreamFramer
    ) -> list[CotEvent]:
        events: list[CotEvent] = []
        if xml is not None:
            try:
                documents = xml.feed(data)
            except FramingError as exc:
                self._rejected(str(exc))
                documents = xml.feed(b"")
            for document in documents:
                try:
                    events.append(parse_event(document))
                except CotError as exc:
                    self._rejected(str(exc))
            return events
        for payload in frames.feed(data):  # a lost framing ends the connection
            try:
                events.append(decode_payload(payload))
            except CotError as exc:
                self._rejected(str(exc))
        return events

    async def _take(self, events: list[CotEvent], intake: Intake, submitter: Submitter) -> None:
        status = self.status
        now = self.tessera.clock()
        reports: list[Report] = []
        for event in events:
            status.received += 1
            taken, report = intake.report(event, now)
            if taken is Taken.ECHO:
                status.echoes += 1
            elif report is not None:
                refusal = submitter.refusal(report)
                if refusal is not None:
                    self._rejected(refusal.reason)
                    continue
                reports.append(submitter.own(report))
        if reports:
            await self.tessera.journal.append(reports)
            status.reports += len(reports)

    # -- trouble ------------------------------------------------------------------------

    def _rejected(self, reason: str) -> None:
        self.status.rejected += 1
        message = "TAK server %s sent a bad event (dropped): %s"
        self._once(f"rejected:{reason[:40]}", message, reason)

    def _failed(self, exc: Exception) -> None:
        text = str(exc) or type(exc).__name__
        self.status.failed(text)
        self._once(type(exc).__name__, "TAK server %s: %s", text)

    def _once(self, kind: str, message: str, text: str) -> None:
        if kind in self._logged:
            log.debug(message, self.config.name, text)
            return
        self._logged.add(kind)
        log.warning(message + " (logged once)", self.config.name, text)


class TakLinks:
    """Every configured TAK server link, started with the server and stopped with it."""

    def __init__(self, tessera: Tessera) -> None:
        self.links = [TakLink(tessera, config) for config in tessera.settings.tak_servers]
        self._tessera = tessera
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for link in self.links:
            self._tessera.tak_servers.links[link.config.name] = link.status
            name = f"tak-server-{link.config.name}"
            self._tasks.append(asyncio.create_task(link.run(), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()


async def start_tak_links(tessera: Tessera) -> TakLinks | None:
    """Start the settings' TAK server links; None if there are none (or this process
    only fuses)."""
    if not tessera.settings.tak_servers or tessera.role == "fusion":
        return None
    links = TakLinks(tessera)
    links.start()
    return links
