"""Deletes from TAK clients (``t-x-d-d`` linking the uid of what it removes).

Only the author of a shared item (the principal whose client shared it, as the hub holds
it, across gateways too) or a principal with the operator or administrator role may
delete it. An allowed delete removes the item from the hub, so clients that connect later
no longer get it, and goes to every client that may read the item's label, on every
gateway. A delete of something the hub does not hold (gone stale, or never seen here)
removes nothing and is passed on to the clients that may read the deleter's label, as TAK
servers do; it needs the reporter role, like any sharing. Anything else is dropped, with
a log line and an audit event (``cot.delete``, denied); allowed deletes are audited too.

A delete removes the item from TAK maps, not from the journal: a marker's spot reports
stay, and the track fused from them lives until its stated validity ends.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tessera.codecs.cot import CotEvent
from tessera.codecs.cot_routing import deleted_uid
from tessera.core.model import Principal, Role
from tessera.security.base import AuditEvent
from tessera.transports.cot_stream.hub import may_delete
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

    def take(self, session: CotSession, event: CotEvent) -> None:
        """Judge one client's delete, and carry it out or refuse it."""
        principal = session.principal
        assert principal is not None
        key = deleted_uid(event)
        if key is None:
            session.counts["rejected"] += 1
            log.warning("CoT delete from %s dropped: it links no uid", session.address)
            return
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
            return
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
            return
        # Keyed by what it deletes: it replaces that item if a client has yet to get it.
        wire = WireEvent(event, key)
        session.counts["relayed"] += server.hub.delete(wire, key, label, sender=session)
        server.relay.share(event, label, chat=False, author=principal.name, moderator=moderator)
        self._audit(session, key, "ok", held_by=None if held is None else held.author)

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
