"""The CoT stream server: listeners, who each client is, what it receives and what it sends.

A client over TLS is the principal its certificate was issued to (``tessera certs``); over
plain TCP or UDP it is the principal the settings name for that port. A connection refused
(in the TLS handshake, or after it by the store) is audited (``refusals.py``), and a live
one whose certificate or principal stops counting is closed (``standing.py``). It receives, at once
and then as they change, the tracks of every picture its principal may read, and the
positions, markers and chat that other clients share and it may read (``hub.py``). What
it sends becomes reports (positions and markers, labelled as its principal's reports are)
and is shared with the clients that may read it, on this gateway and, through the relay
(``tessera.relay``, ``peers.py``), on every other gateway of the deployment. What a
client addresses (``<marti>``) reaches only the clients it names; its deletes
(``t-x-d-d``) are judged by ``deletes.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import OrderedDict
from datetime import timedelta
from typing import TYPE_CHECKING, Final

import msgspec

from tessera.bus.base import Change, Subscriber
from tessera.codecs.cot import CotEvent
from tessera.codecs.cot_reports import (
    is_negotiation_request,
    is_ping,
    negotiation_response,
    pong,
    requested_protocol_version,
    track_to_event,
)
from tessera.codecs.cot_routing import is_delete
from tessera.codecs.cot_share import SharedEvent
from tessera.core.model import Label, Principal, Report, Role, Track, is_subjects_own_track
from tessera.journal.base import JournalClosedError, JournalUnavailableError
from tessera.security import certs
from tessera.security.base import AuditEvent
from tessera.security.policy import readable_pictures, submission_refusal
from tessera.security.tls import ServerContexts, certificate_standing
from tessera.store.base import TrackQuery
from tessera.transports.cot_stream.callsigns import UnitCallsigns
from tessera.transports.cot_stream.chat import replay_web_chat
from tessera.transports.cot_stream.hub import CommunityHub
from tessera.transports.cot_stream.intake import CotIntake
from tessera.transports.cot_stream.peers import HubLink
from tessera.transports.cot_stream.refusals import ConnectionRefusals
from tessera.transports.cot_stream.session import CotSession
from tessera.transports.cot_stream.standing import keep_checking
from tessera.transports.cot_stream.tls_accept import TLS, TlsAcceptor
from tessera.transports.cot_stream.wire import CONTROL_PREFIX, XML, WireEvent

if TYPE_CHECKING:
    from tessera.transports.cot_stream.host import CotHost

log = logging.getLogger(__name__)
TCP: Final = "tcp"
GATEWAY: Final = "gateway"
CHANGE_CACHE: Final = 50_000


class CotServer:
    def __init__(self, tessera: CotHost, tls_contexts: ServerContexts | None) -> None:
        self.tessera = tessera
        self.settings = tessera.settings
        replay = self.settings.cot_chat_replay_s
        self.hub = CommunityHub(
            tessera.scheme, chat_replay=timedelta(seconds=replay) if replay > 0 else None
        )
        self.relay = tessera.cot_relay
        self.peers = HubLink(self.hub, tessera.scheme, tessera.clock, rooms=self._to_rooms)
        self.tls_contexts = tls_contexts
        self.refusals = ConnectionRefusals(tessera.audit, tessera.clock)
        self._servers: list[asyncio.Server] = []
        # Handshakes under way and the rechecks: ended when the server stops.
        self._owned: set[asyncio.Task[None]] = set()
        self._rechecks: asyncio.Task[None] | None = None
        self._sessions: set[CotSession] = set()
        self._subscriptions: dict[int, list[tuple[str, Subscriber]]] = {}
        # One encoding of each change, shared by every client; and each track's last
        # event, to tell clients to drop it when it is removed.
        self._changes: OrderedDict[tuple[str, int], WireEvent] = OrderedDict()
        self._last_event: dict[tuple[str, str], CotEvent] = {}
        self._appends: set[asyncio.Task[None]] = set()
        self._transports: list[asyncio.BaseTransport] = []
        self._intake = CotIntake(self)
        self.callsigns = UnitCallsigns(tessera.scheme)
        # The shown subject of tracks a sender keeps of its own reports, by their uid.
        self._subject_of: dict[str, str] = {}

    def _to_rooms(self, shared: SharedEvent) -> None:
        """A GeoChat to All Chat Rooms from another gateway's client, into the rooms."""
        event = shared.event
        self.tessera.chat.heard(
            event,
            shared.label,
            author=shared.author or f"gateway {shared.origin}",
            sender_uid=event.link_uid or event.uid,
        )

    # -- listening ----------------------------------------------------------------------

    async def open_relay(self) -> None:
        """Join the other gateways: before listening, so their state is on its way."""
        await self.relay.open(self.peers)

    async def listen(self, kind: str, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        contexts = self.tls_contexts
        if kind == TLS:
            # TCP first, then a handshake with the context current for this connection.
            assert contexts is not None
            server = await loop.create_server(lambda: TlsAcceptor(self, contexts), sock=sock)
        else:
            gateway = kind == TCP and self.settings.cot_tcp_mode == GATEWAY
            server = await loop.create_server(
                lambda: CotSession(self, kind=kind, gateway=gateway), sock=sock
            )
        self._servers.append(server)
        if self._rechecks is None:
            self._rechecks = asyncio.create_task(keep_checking(self), name="cot-recheck")

    def own(self, task: asyncio.Task[None]) -> None:
        """Keep ``task`` (a handshake) until it ends, or the server stops."""
        self._owned.add(task)
        task.add_done_callback(self._owned.discard)

    def closing(self, transport: asyncio.BaseTransport) -> None:
        """Close ``transport`` (a UDP endpoint) when the server stops."""
        self._transports.append(transport)

    async def stop(self) -> None:
        for task in [*self._owned, *([self._rechecks] if self._rechecks else [])]:
            task.cancel()
        for transport in self._transports:
            transport.close()
        for server in self._servers:
            server.close()
        for session in list(self._sessions):
            session.close("the server is stopping")
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)
        if self._appends:
            await asyncio.wait(set(self._appends), timeout=10)
        await self.relay.close()

    # -- sessions -----------------------------------------------------------------------

    def sessions(self) -> list[CotSession]:
        return list(self._sessions)

    async def identify(self, session: CotSession) -> Principal | str:
        """Who the client is, or why it is refused."""
        security = self.tessera.security
        if session.kind == TLS:
            transport = session.transport_object()
            ssl_object = transport.get_extra_info("ssl_object") if transport else None
            der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
            if not der:
                return "no client certificate"
            session.fingerprint = certs.fingerprint(der)
            held = await certificate_standing(security, der, self.tessera.clock())
            if isinstance(held, str):
                return held
            record, holder = held
            bound = await security.certificate_uid(record.fingerprint)
            if bound is not None:
                session.own_uid, session.uid_bound = bound, True
            return holder
        name = self.settings.cot_tcp_principal if session.kind == TCP else None
        principal = None if name is None else await security.principal(name)
        if principal is None:
            return f"no principal {name} for this port"
        return f"principal {name} disabled" if principal.disabled else principal

    def refuse(self, session: CotSession, reason: str, target: str = "") -> None:
        """Close a client that was never let in, and audit why."""
        self.refusals.record(session.address, reason, kind=session.kind, target=target)
        session.close(reason)

    def end(self, session: CotSession, reason: str) -> None:
        """Close a client that was let in and no longer may be, and audit why."""
        detail: dict[str, object] = {"reason": reason, "kind": session.kind}
        target = session.fingerprint or ""
        self._audit(session, "cot.closed", detail, outcome="denied", target=target)
        session.close(reason)

    async def welcome(self, session: CotSession) -> None:
        """Register the client and queue everything it may see now."""
        principal = session.principal
        assert principal is not None
        self._sessions.add(session)
        now = self.tessera.clock()
        self._audit(session, "cot.connect", {"kind": session.kind})
        self.hub.join(session, now)
        replay_web_chat(self, session, now)
        subscriptions: list[tuple[str, Subscriber]] = []
        pictures = readable_pictures(principal, self.tessera.pictures.values(), self.tessera.scheme)
        for picture in pictures:
            subscriber = Subscriber(TrackQuery(), visible=None)
            # No await between the snapshot and attaching from its seq: every change after
            # it reaches the client (on a gateway, those its copy has yet to apply too).
            seq, tracks = self.tessera.store.tracks(picture.name, TrackQuery())
            subscriber.reset_visible(track.id for track in tracks)
            self.tessera.bus.attach(picture.name, subscriber, seq)
            for track in tracks:
                event = self._track_event(picture.name, track.id, track)
                if event is not None and self._wanted(session, event.uid):
                    session.outbox.put(WireEvent(event))
            subscriptions.append((picture.name, subscriber))
            session.add_task(self._pump(session, picture.name, subscriber))
        self._subscriptions[id(session)] = subscriptions

    def forget(self, session: CotSession) -> None:
        if session not in self._sessions:
            return
        self._sessions.discard(session)
        self.hub.leave(session)
        for picture, subscriber in self._subscriptions.pop(id(session), []):
            self.tessera.bus.detach(picture, subscriber)
        self._audit(session, "cot.disconnect", dict(session.counts))

    # -- what clients send --------------------------------------------------------------

    def received(self, session: CotSession, events: list[CotEvent]) -> None:
        principal = session.principal
        assert principal is not None
        reporter = Role.REPORTER in principal.roles
        taken: list[CotEvent] = []
        for event in events:
            session.counts["events"] += 1
            if self._answer_control(session, event):
                continue
            if not reporter and not is_delete(event):
                # Sharing and reporting are writes: a viewer's client only listens (its
                # deletes are judged, and audited, with the rest).
                session.counts["rejected"] += 1
                log.warning(
                    "CoT event from %s dropped: principal %s lacks the reporter role",
                    session.address,
                    principal.name,
                )
                continue
            taken.append(event)
        if taken:
            # Owned by the server, not the session: a client that disconnects right after
            # sending does not take its reports with it.
            task = asyncio.create_task(self._intake.take(session, taken))
            self._appends.add(task)
            task.add_done_callback(self._appends.discard)

    def _answer_control(self, session: CotSession, event: CotEvent) -> bool:
        if not event.type.startswith(CONTROL_PREFIX) or is_delete(event):
            return False
        if is_ping(event):
            session.send_now(WireEvent(pong(event, self.tessera.clock())))
        elif is_negotiation_request(event):
            # The answer goes in XML; everything after it in TAK protocol version 1, the
            # only version there is.
            accepted = requested_protocol_version(event) == 1
            answer = negotiation_response(event, accepted=accepted, now=self.tessera.clock())
            session.send_now(WireEvent(answer), XML)
            if accepted:
                session.switch_to_protobuf()
        return True

    def label_for(self, principal: Principal, source_id: str) -> Label | None:
        """The label of what ``principal`` sends as ``source_id``; None if it has none
        it may use."""
        label = self.settings.source_labels.get(source_id) or principal.default_label
        if label is None or submission_refusal(principal, label, self.tessera.scheme):
            return None
        return label

    async def append(self, session: CotSession, reports: list[Report]) -> None:
        try:
            await self.tessera.journal.append(reports)
        except JournalClosedError:
            session.close("the server is stopping")
        except JournalUnavailableError as exc:
            # TAK clients do not retry: say so in the log, keep the connection.
            log.warning("could not journal %d reports from %s: %s", len(reports), session, exc)

    # -- what clients receive -----------------------------------------------------------

    async def _pump(self, session: CotSession, picture: str, subscriber: Subscriber) -> None:
        while True:
            changes = await subscriber.take()
            for change in changes:
                if change.kind != "track":
                    continue  # overlays are not sent to TAK clients (yet)
                wire = self._change_wire(picture, change)
                if wire is not None and self._wanted(session, wire.key):
                    session.outbox.put(wire)

    def _change_wire(self, picture: str, change: Change) -> WireEvent | None:
        key = (picture, change.seq)
        wire = self._changes.get(key)
        if wire is None:
            event = self._track_event(picture, change.item_id, change.track)
            if event is None:
                return None
            wire = WireEvent(event)
            self._changes[key] = wire
            if len(self._changes) > CHANGE_CACHE:
                self._changes.popitem(last=False)
        return wire

    def _track_event(self, picture: str, track_id: str, track: Track | None) -> CotEvent | None:
        now = self.tessera.clock()
        if track is not None:
            event = track_to_event(
                track,
                picture=picture,
                now=now,
                stale_after=timedelta(seconds=self.settings.cot_stale_s),
                own_callsign=self._own_callsign(picture, track),
            )
            if is_subjects_own_track(track.id, track.subject):
                # A unit's fused track and its own position are one object on a TAK map.
                event = msgspec.structs.replace(event, uid=track.subject)
            elif track.subject is not None:
                # A sender's own reports about a subject: shown beside it, never in its place
                # (nor twice to a client that gets the subject itself from its sender).
                self._subject_of[event.uid] = track.subject
            self._last_event[(picture, track_id)] = event
            return event
        # Removed: the last state, stale at once, so clients drop it.
        last = self._last_event.pop((picture, track_id), None)
        if last is None:
            return None
        self._subject_of.pop(last.uid, None)
        return msgspec.structs.replace(last, time=now, start=now, stale=now)

    def _own_callsign(self, picture: str, track: Track) -> str | None:
        """The callsign a unit's own track takes from the unit's own reports."""
        shown = self.tessera.pictures.get(picture)
        if shown is None or not is_subjects_own_track(track.id, track.subject):
            return None
        assert track.subject is not None
        return self.callsigns.of(track.subject, shown)

    def _wanted(self, session: CotSession, key: str) -> bool:
        # A client is not sent its own position back as a track, nor the fused track of a
        # TAK client whose own position it already receives: one object, one symbol.
        if key == session.own_uid or self.hub.delivers(session, key):
            return False
        subject = self._subject_of.get(key)
        return subject is None or not self.hub.delivers(session, subject)

    def _audit(
        self,
        session: CotSession,
        action: str,
        detail: dict[str, object],
        *,
        outcome: str = "ok",
        target: str = "",
    ) -> None:
        principal = session.principal
        self.tessera.audit.record(
            AuditEvent(
                at=self.tessera.clock(),
                principal=None if principal is None else principal.name,
                action=action,
                outcome=outcome,
                target=target,
                address=session.address,
                detail=dict(detail),
            )
        )
