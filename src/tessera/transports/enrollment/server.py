"""Opening the TAK enrollment port (``tak_enrollment_port``, 8446): uvicorn over TLS with
the deployment's server certificate, on a socket bound here (so port 0 works), announced
as ``listening tak-enroll HOST:PORT``. It runs beside the CoT TLS port it enrolls clients
for, and only with it."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from tessera.security import certs, tls
from tessera.security.enroller import Enroller
from tessera.settings import Settings
from tessera.transports.enrollment.app import enrollment_app
from tessera.transports.web.edge_server import EdgeServer, edge_config

if TYPE_CHECKING:
    from tessera.security.audit import AuditTrail
    from tessera.security.base import SecurityStore
    from tessera.security.gate import Gate


class Enrolling(Protocol):
    """What the enrollment port needs of a running Tessera (``app.Tessera`` is one)."""

    settings: Settings
    security: SecurityStore
    audit: AuditTrail
    clock: Callable[[], datetime]
    gate: Gate


# What start_enrollment returns: one uvicorn server, stopped with the rest.
EnrollmentServer = EdgeServer


def ca_loader(settings: Settings) -> Callable[[], Awaitable[certs.Issued]]:
    """Reads the CA at each enrollment, so a CA replaced while serving is the one used:
    the data folder's, or the deployment's in PostgreSQL."""

    async def load() -> certs.Issued:
        if settings.postgis_dsn is not None:
            from tessera.security.shared_ca import deployment_ca

            return (await deployment_ca(settings.postgis_dsn, datetime.now(UTC))).issued
        directory = tls.certs_dir(settings.data_dir)
        return certs.load_issued(
            (directory / tls.CA_FILE).read_bytes(), (directory / tls.CA_KEY_FILE).read_bytes()
        )

    return load


async def start_enrollment(
    tessera: Enrolling,
    bind: Callable[[str, int], socket.socket],
    announce: Callable[[str, socket.socket], str],
) -> EnrollmentServer | None:
    """Open the enrollment port if the settings ask for it (and for CoT over TLS)."""
    settings = tessera.settings
    if settings.tak_enrollment_port is None or settings.cot_tls_port is None:
        return None
    directory = tls.ensure_deployment(settings.data_dir, hosts=(settings.host,))
    context = tls.https_context(directory / tls.SERVER_CERT_FILE, directory / tls.SERVER_KEY_FILE)
    enroller = Enroller(
        store=tessera.security,
        audit=tessera.audit,
        clock=tessera.clock,
        failures=tessera.gate.failures,
        load_ca=ca_loader(settings),
    )
    config = edge_config(enrollment_app(enroller), settings, context)
    sock = bind(settings.host, settings.tak_enrollment_port)
    server = EnrollmentServer(config, sock, "TAK enrollment server")
    try:
        await server.start()
    except BaseException:
        sock.close()
        raise
    announce("tak-enroll", sock)
    return server
