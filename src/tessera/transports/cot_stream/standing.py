"""Live TAK connections keep their standing: every ``cot_recheck_s`` the server asks the
security store, in one query for all its TLS clients, whether each certificate still
counts (not revoked, not expired, its principal there and not disabled), and closes
those that do not, with the reason on the audit trail (``cot.closed``). Clients of the
plain TCP port are checked by their port's principal.

``tessera certs revoke`` and ``tessera users disable`` run in another process on the same
store (the data folder's SQLite, or a deployment's PostGIS): asking it is how every
server learns of them, within one period and at one query's cost however many clients.
In a deployment the same loop copies the CRL that ``tessera certs revoke`` stored in
PostGIS (through whichever data folder) to this server's folder, where the next TLS
handshake reads it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from tessera.security.tls import CRL_FILE, certificate_refusal, write_file

if TYPE_CHECKING:
    from tessera.transports.cot_stream.server import CotServer
    from tessera.transports.cot_stream.session import CotSession

log = logging.getLogger(__name__)


async def keep_checking(server: CotServer) -> None:
    """Recheck every live client each period, for as long as the server runs."""
    crl_written: datetime | None = None
    while True:
        await asyncio.sleep(server.settings.cot_recheck_s)
        try:
            await recheck(server)
        except Exception:
            # The store out of reach: the clients keep their connections until it answers.
            log.exception("could not recheck the CoT clients' certificates; trying again")
        try:
            crl_written = await copy_deployment_crl(server, crl_written)
        except Exception:
            log.exception("could not read the deployment's CRL; trying again")


async def copy_deployment_crl(server: CotServer, known: datetime | None) -> datetime | None:
    """The deployment's CRL in this server's certificate folder if it was written since
    ``known``; when it was written (``known`` if not since, or if there is none)."""
    contexts = server.tls_contexts
    if contexts is None:
        return known
    found = await server.tessera.security.deployment_crl(known)
    if found is None:
        return known
    written, crl = found
    path = contexts.certs_dir / CRL_FILE
    if not path.exists() or path.read_bytes() != crl:
        write_file(path, crl, replace=True)
        log.info("the deployment's CRL of %s is now in %s", written.isoformat(), path)
    return written


async def recheck(server: CotServer) -> None:
    """Close every identified client whose certificate or principal no longer counts."""
    store = server.tessera.security
    # One already closing (a TLS close waits for the client's answer) is closed once.
    sessions = [
        session
        for session in server.sessions()
        if session.principal is not None and not session.closing()
    ]
    certified = [session for session in sessions if session.fingerprint is not None]
    holders = (
        await store.certificate_holders({s.fingerprint for s in certified if s.fingerprint})
        if certified
        else {}
    )
    now = server.tessera.clock()
    for session in certified:
        assert session.fingerprint is not None
        held = holders.get(session.fingerprint)
        reason = (
            "certificate unknown to the security store"
            if held is None
            else certificate_refusal(held[0], held[1], now)
        )
        if reason is not None:
            server.end(session, reason)
    by_port = _by_principal([session for session in sessions if session.fingerprint is None])
    for name, clients in by_port.items():
        principal = await store.principal(name)
        if principal is None or principal.disabled:
            reason = f"principal {name} {'no longer exists' if principal is None else 'disabled'}"
            for session in clients:
                server.end(session, reason)


def _by_principal(sessions: list[CotSession]) -> dict[str, list[CotSession]]:
    grouped: dict[str, list[CotSession]] = {}
    for session in sessions:
        assert session.principal is not None
        grouped.setdefault(session.principal.name, []).append(session)
    return grouped
