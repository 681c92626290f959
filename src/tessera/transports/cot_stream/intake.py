"""What a TAK client sends, checked before any of it is shared or journaled (DESIGN §10).

A client reports as the sources its principal owns (the source registry), and as its own
uid: over TLS that uid is bound to its certificate, given when the certificate was issued
(``tessera certs client --uid``) or taken from the first position the client sends about
itself, and then no other certificate may take it. A plain port set up as a gateway of
many units (``cot_tcp_mode``, ``cot_udp_mode``) has no uid of its own: each position
without a link is a unit's own report, as a source its principal must own, and a marker
linked to a unit is that unit's spot report. An event its sender may not send is
neither relayed to other clients nor journaled, and is audited:

* a position from a source the sender does not own (its own uid taken by another
  certificate, a ``link`` naming someone else as the sender);
* a marker that takes the uid of somebody else's unit (a uid bound to another
  certificate, or a source registered to another principal), which TAK maps would show
  in that unit's place.

Everything else goes on as before: relayed to the clients that may read its label, and
the positions journaled with their ids scoped to the sender (``security/scoping.py``).
An addressed event (``<marti>``, or a GeoChat to a teammate or a group:
``tessera.codecs.cot_chat``) goes only to the clients it names and is never journaled,
being private; one whose addressing cannot be read is refused. The client's
own position also tells how addressed events name it: its callsign and team. Deletes
are judged by ``deletes.py``, in order with the rest.
Events are taken one batch at a time per client, in order, by tasks the server owns: a
client that disconnects right after sending does not take its reports with it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from tessera.codecs.cot import CotEvent
from tessera.codecs.cot_alerts import emergency_report, is_emergency
from tessera.codecs.cot_chat import addressing
from tessera.codecs.cot_model import CotError
from tessera.codecs.cot_reports import event_to_report, is_chat
from tessera.codecs.cot_routing import is_delete
from tessera.core.model import Report, SourceKind
from tessera.security.base import AuditEvent, SecurityStoreError, UidTakenError
from tessera.security.scoping import Refusal, Submitter
from tessera.transports.cot_stream.deletes import CotDeletes
from tessera.transports.cot_stream.wire import WireEvent

if TYPE_CHECKING:
    from tessera.transports.cot_stream.server import CotServer
    from tessera.transports.cot_stream.session import CotSession

log = logging.getLogger(__name__)
# Refused uids named in one audit event, at most.
AUDITED_UIDS: Final = 5


class CotIntake:
    def __init__(self, server: CotServer) -> None:
        self._server = server
        self._deletes = CotDeletes(server)

    async def take(self, session: CotSession, events: list[CotEvent]) -> None:
        """Check, relay and journal one batch of a client's events, after its earlier ones."""
        async with session.intake_lock:
            reports, refused = await self._checked(session, events)
            if refused:
                self._audit_refused(session, refused)
            if reports:
                session.counts["reports"] += len(reports)
                await self._server.append(session, reports)

    async def _checked(
        self, session: CotSession, events: list[CotEvent]
    ) -> tuple[list[Report], list[tuple[str, str]]]:
        server = self._server
        tessera = server.tessera
        principal = session.principal
        assert principal is not None
        now = tessera.clock()
        reports: list[Report] = []
        refused: list[tuple[str, str]] = []
        submitter: Submitter | None = None
        for event in events:
            if is_delete(event):
                retraction = await self._deletes.take(session, event)
                if retraction is not None:
                    reports.append(retraction)
                continue
            try:
                addressed = addressing(event)
            except CotError as exc:
                refused.append((event.uid, f"its addressing cannot be read: {exc}"))
                continue
            position = event.type.startswith("a-")
            sender = event.link_uid if position and event.link_uid else None
            if session.gateway:
                # Many units on one connection: each reports as itself, a marker as the
                # unit its link names; none becomes the connection's own.
                source_id = (sender or event.uid) if position else (event.link_uid or event.uid)
            else:
                if sender is None and position and session.own_uid is None:
                    if event.uid == session.refused_uid or not await self._claim(
                        session, event.uid
                    ):
                        session.refused_uid = event.uid
                        refused.append((event.uid, "its uid is bound to another certificate"))
                        continue
                    submitter = None  # it owns one more uid now
                source_id = sender or session.own_uid or event.uid
            label = server.label_for(principal, source_id)
            if label is None:
                session.counts["rejected"] += 1
                log.warning(
                    "CoT event from %s dropped: no label (give principal %s a default label)",
                    session.address,
                    principal.name,
                )
                continue
            report = None
            if position:
                if submitter is None:
                    submitter = await self._submitter(session)
                report = event_to_report(
                    event, sender_uid=source_id, new_id=tessera.new_report_id, now=now, label=label
                )
                refusal = await self._refusal(session, submitter, event, source_id, report)
                if refusal is not None:
                    refused.append((event.uid, refusal.reason))
                    continue
                if report is not None and addressed is None:
                    reports.append(submitter.own(report))
                    if report.source.kind is SourceKind.UNIT and report.subject is not None:
                        # What the unit calls itself names its fused track on TAK maps.
                        server.callsigns.heard(report.subject, event.callsign, label)
                if event.uid == session.own_uid:
                    session.callsign, session.team = event.callsign, event.group_name
            elif is_emergency(event) and addressed is None:
                # An emergency (and its cancel) is on the picture, for the alert rules.
                submitter = submitter or await self._submitter(session)
                report = emergency_report(
                    event, sender_uid=source_id, new_id=tessera.new_report_id, now=now, label=label
                )
                if (refusal := submitter.refusal(report)) is not None:
                    refused.append((event.uid, refusal.reason))
                    continue
                reports.append(submitter.own(report))
            chat = is_chat(event)
            session.counts["relayed"] += server.hub.relay(
                WireEvent(event),
                label,
                sender=session,
                chat=chat,
                author=principal.name,
                destinations=addressed,
            )
            server.relay.share(event, label, chat=chat, author=principal.name)
            if chat and addressed is None:
                # To All Chat Rooms: said in the rooms of the pictures that admit it.
                tessera.chat.heard(event, label, author=principal.name, sender_uid=source_id)
        session.counts["rejected"] += len(refused)
        return reports, refused

    async def _claim(self, session: CotSession, uid: str) -> bool:
        """Take ``uid`` as the client's own: bound to its certificate over TLS (refused if
        another certificate holds it); whatever it says elsewhere (a trusted network)."""
        if session.fingerprint is None:
            session.own_uid = uid
            return True
        try:
            bound = await self._server.tessera.security.bind_certificate_uid(
                session.fingerprint, uid, self._server.tessera.clock()
            )
        except UidTakenError:
            return False
        except SecurityStoreError as exc:
            log.warning("could not bind uid %r for %s: %s", uid, session.address, exc)
            return False
        session.own_uid = bound
        session.uid_bound = True
        return bound == uid

    async def _submitter(self, session: CotSession) -> Submitter:
        assert session.principal is not None
        own = session.own_uid if session.uid_bound else None
        return await self._server.tessera.submitter(session.principal, own_uid=own)

    async def _refusal(
        self,
        session: CotSession,
        submitter: Submitter,
        event: CotEvent,
        source_id: str,
        report: Report | None,
    ) -> Refusal | None:
        if report is not None:
            refusal = submitter.refusal(report)
        elif submitter.ownership.owns(source_id):
            refusal = None
        else:
            refusal = Refusal("source.id", f"source {source_id!r} is not registered to you")
        if refusal is not None or event.uid == source_id:
            return refusal
        if await self._someone_elses(session, submitter, event.uid):
            return Refusal("uid", "a marker may not take the uid of somebody else's unit")
        return None

    async def _someone_elses(self, session: CotSession, submitter: Submitter, uid: str) -> bool:
        if submitter.ownership.owns(uid):
            return False
        tessera = self._server.tessera
        holder = await tessera.security.uid_holder(uid)
        if holder is not None and holder != session.fingerprint:
            return True
        owners = await tessera.sources.owners()
        return any(
            ownership.names(uid)
            for name, ownership in owners.items()
            if name != submitter.principal
        )

    def _audit_refused(self, session: CotSession, refused: list[tuple[str, str]]) -> None:
        principal = session.principal
        log.warning(
            "CoT events from %s refused (%d): %s",
            session.address,
            len(refused),
            "; ".join(f"{uid}: {reason}" for uid, reason in refused[:AUDITED_UIDS]),
        )
        tessera = self._server.tessera
        tessera.audit.record(
            AuditEvent(
                at=tessera.clock(),
                principal=None if principal is None else principal.name,
                action="cot.refused",
                outcome="denied",
                target=refused[0][0],
                address=session.address,
                detail={
                    "refused": len(refused),
                    "reasons": sorted({reason for _, reason in refused}),
                    "uids": sorted({uid for uid, _ in refused})[:AUDITED_UIDS],
                },
            )
        )
