"""Deletes from TAK clients (``t-x-d-d`` linking the uid of what it removes).

Only the author of a shared item (the principal whose client shared it, as the hub holds
it, across gateways too) or a principal with the operator or administrator role may
delete it. An allowed delete removes the item from the hub, so clients that connect later
no longer get it, and goes to every client that may read the item's label, on every
gateway. A delete of something the hub does not hold (gone stale, or never seen here)
removes nothing and is passed on to the clients that may read the deleter's label, as TAK
servers do; it needs the reporter role, like any sharing. Anything else is dropped, with
a log line and an audit event (``cot.delete``, denied); allowed deletes are audited too.

A marker (``a-*``) was also journaled as a spot report and fused. An allowed delete of
one journals a retraction of its subject, scoped as its author's reports were, so fusion
drops the track they made (on replay too, and whichever gateway fuses). Its reports stay
in the journal: they were said, and were withdrawn.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tessera.codecs.cot import CotEvent
from tessera.codecs.cot_reports import retraction_report
from tessera.codecs.cot_routing import deleted_uid
from tessera.core.model import Label, Principal, Report, Role
from tessera.security.base import AuditEvent
from tessera.security.scoping import Submitter
from tessera.transports.cot_stream.hub import Relayed, may_delete
from tessera.transports.cot_stream.wire import WireEvent

if TYPE_CHECKING:
    from tessera.transports.cot_stream.server import CotServer
    from tessera.transports.cot_stream.session import CotSession

log = logging.getLogger(__name__)


def is_moderator(principal: Principal) -> bool:
    """Whether ``principal`` may delete what others shared."""
    return Role.OPERATOR in principal.roles or Role.ADMIN in principal.roles


class CotDeletes:
    def __init__(self, server: CotServer) -> None:
        self._server = server

    async def take(self, session: CotSession, event: CotEvent) -> Report | None:
        """Judge one client's delete, and carry it out or refuse it; the retraction to
        journal, if it deletes a marker."""
        principal = session.principal
        assert principal is not None
        key = deleted_uid(event)
        if key is None:
            session.counts["rejected"] += 1
            log.warning("CoT delete from %s dropped: it links no uid", session.address)
            return None
        server = self._server
        moderator = is_moderator(principal)
        held = server.hub.held(key)
        sharer = Role.REPORTER in principal.roles or moderator
        if not sharer or not may_delete(held, principal.name, moderator=moderator):
            session.counts["rejected"] += 1
            log.warning(
                "CoT delete of %s from %s refused: principal %s is not its author, "
                "an operator or an administrator",
                key[:64],
                session.address,
                principal.name,
            )
            self._audit(session, key, "denied", held_by=None if held is None else held.author)
            return None
        label = (
            held.label
            if held is not None
            else server.label_for(principal, session.own_uid or event.uid)
        )
        if label is None:
            session.counts["rejected"] += 1
            log.warning(
                "CoT delete from %s dropped: no label (give principal %s a default label)",
                session.address,
                principal.name,
            )
            return None
        # Keyed by what it deletes: it replaces that item if a client has yet to get it.
        wire = WireEvent(event, key)
        session.counts["relayed"] += server.hub.delete(wire, key, label, sender=session)
        server.relay.share(event, label, chat=False, author=principal.name, moderator=moderator)
        self._audit(session, key, "ok", held_by=None if held is None else held.author)
        return await self._retraction(session, event, key, held, label)

    async def _retraction(
        self, session: CotSession, event: CotEvent, key: str, held: Relayed | None, label: Label
    ) -> Report | None:
        """The retraction of marker ``key``, scoped to its author (the deleter, for one the
        hub no longer holds), as the marker's reports were; None for what made no report."""
        principal = session.principal
        assert principal is not None
        if held is None:
            author, last, sender = principal.name, None, session.own_uid or event.uid
        else:
            last = held.wire.event
            if not last.type.startswith("a-") or held.author is None:
                return None
            author, sender = held.author, last.link_uid or last.uid
        tessera = self._server.tessera
        own = session.own_uid if session.uid_bound and author == principal.name else None
        ownership = await tessera.sources.ownership(author)
        submitter = Submitter(author, ownership.with_id(own), tessera.ids)
        report = retraction_report(
            key,
            last=last,
            sender_uid=sender,
            new_id=tessera.new_report_id,
            now=tessera.clock(),
            label=label,
        )
        return submitter.own(report)

    def _audit(self, session: CotSession, key: str, outcome: str, *, held_by: str | None) -> None:
        principal = session.principal
        tessera = self._server.tessera
        tessera.audit.record(
            AuditEvent(
                at=tessera.clock(),
                principal=None if principal is None else principal.name,
                action="cot.delete",
                outcome=outcome,
                target=key[:256],
                address=session.address,
                detail={"author": held_by},
            )
        )
