"""The deployment's TAK/TLS certificate authority in PostgreSQL (with ``postgis_dsn``):
one CA for every gateway, so a client certificate issued once is good at each of them.

The first process that needs a CA makes one and inserts it unless another did first,
then reads back the one that counts: two gateways starting at once end up with the same
CA. Each gateway keeps the CA's certificate, the CRL and a server certificate of its own
(for its host names, signed by that CA) in its data folder, where the TLS contexts read
them; the CA's key stays in the database, encrypted under a deployment secret kept in
another table, so a copy of the CA's row alone opens nothing. ``tessera certs`` issues,
revokes and replaces against the same row.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

import psycopg
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from psycopg.rows import TupleRow

from tessera.postgis.connection import session_conninfo
from tessera.postgis.migrate import check_schema
from tessera.security import certs
from tessera.security.tls import (
    CA_DAYS,
    CA_FILE,
    CRL_FILE,
    SERVER_CERT_FILE,
    SERVER_DAYS,
    SERVER_KEY_FILE,
    certs_dir,
    connectable,
    crl_pem,
    write_file,
)

if TYPE_CHECKING:
    from tessera.settings import Settings

# The secret (in the secrets table) the CA's key is encrypted under.
CA_KEY_NAME: Final = "tak-ca-key"
_KEY_BYTES: Final = 32
# A server certificate this close to its end is issued afresh when its gateway starts.
RENEW_BEFORE: Final = timedelta(days=30)

_ADD_KEY: Final = "INSERT INTO secrets (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING"
_KEY: Final = "SELECT value FROM secrets WHERE name = %s"
_READ: Final = "SELECT certificate, encrypted_key, crl FROM deployment_ca WHERE id = 1"
_ADD: Final = (
    "INSERT INTO deployment_ca (id, certificate, encrypted_key, crl, created_at, "
    "crl_updated_at) VALUES (1, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
)
_REPLACE: Final = (
    "UPDATE deployment_ca SET certificate = %s, encrypted_key = %s, crl = %s, "
    "created_at = %s, crl_updated_at = %s WHERE id = 1"
)
_SET_CRL: Final = "UPDATE deployment_ca SET crl = %s, crl_updated_at = %s WHERE id = 1"

Conn = psycopg.AsyncConnection[TupleRow]


@dataclass(frozen=True)
class SharedCa:
    """The deployment's CA with its key, its current CRL (PEM), and whether this call
    made it."""

    issued: certs.Issued
    crl: bytes
    created: bool = False


@asynccontextmanager
async def _connected(dsn: str) -> AsyncIterator[Conn]:
    conn = await psycopg.AsyncConnection.connect(session_conninfo(dsn), autocommit=True)
    try:
        await check_schema(conn)
        yield conn
    finally:
        await conn.close()


async def _key_password(conn: Conn) -> bytes:
    await conn.execute(_ADD_KEY, (CA_KEY_NAME, secrets.token_bytes(_KEY_BYTES)))
    row = await (await conn.execute(_KEY, (CA_KEY_NAME,))).fetchone()
    assert row is not None  # inserted just above unless it was there
    # Hex: a password of printable bytes, as an operator's tools would also take.
    return bytes(row[0]).hex().encode()


async def _read(conn: Conn, password: bytes) -> SharedCa | None:
    row = await (await conn.execute(_READ)).fetchone()
    if row is None:
        return None
    certificate, key, crl = (bytes(value) for value in row)
    try:
        issued = certs.load_issued(certificate, key, password)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"the deployment's CA in PostgreSQL cannot be read: {exc}") from None
    return SharedCa(issued, crl)


def _new_ca(now: datetime, days: int) -> tuple[certs.Issued, bytes]:
    # A random suffix tells this deployment's CA from another's in a client's trust list.
    ca = certs.create_ca(f"Tessera CA {secrets.token_hex(4)}", now, max(CA_DAYS, days))
    return ca, crl_pem(ca, [], now)


def _row(ca: certs.Issued, crl: bytes, password: bytes, now: datetime) -> tuple[object, ...]:
    return (
        certs.certificate_pem(ca.certificate),
        certs.key_pem(ca.key, password),
        crl,
        now,
        now,
    )


async def deployment_ca(dsn: str, now: datetime) -> SharedCa:
    """The deployment's CA, made now if there is none yet (race-safe: whoever inserts
    first wins, and everyone reads back the winner's)."""
    async with _connected(dsn) as conn:
        password = await _key_password(conn)
        found = await _read(conn, password)
        if found is not None:
            return found
        ca, crl = _new_ca(now, CA_DAYS)
        inserted = await conn.execute(_ADD, _row(ca, crl, password, now))
        found = await _read(conn, password)
        assert found is not None  # inserted, by this process or another
        return SharedCa(found.issued, found.crl, created=inserted.rowcount == 1)


async def replace_ca(dsn: str, now: datetime, days: int) -> SharedCa:
    """A new CA for the deployment in place of the old (``tessera certs init --force``):
    whatever the old one signed stops being trusted as each gateway restarts."""
    async with _connected(dsn) as conn:
        password = await _key_password(conn)
        ca, crl = _new_ca(now, days)
        async with conn.transaction():
            replaced = await conn.execute(_REPLACE, _row(ca, crl, password, now))
            if replaced.rowcount == 0:
                await conn.execute(_ADD, _row(ca, crl, password, now))
        return SharedCa(ca, crl, created=True)


async def store_crl(dsn: str, crl: bytes, now: datetime) -> None:
    async with _connected(dsn) as conn:
        await conn.execute(_SET_CRL, (crl, now))


async def install(
    dsn: str, data_dir: Path, hosts: Sequence[str], now: datetime, days: int = SERVER_DAYS
) -> Path:
    """This process's certificate folder from the deployment's CA (made if new): the CA's
    certificate and CRL, and a server certificate of its own for ``hosts``, kept while
    the CA signed it and it is not about to expire (else issued afresh). The folder."""
    shared = await deployment_ca(dsn, now)
    directory = certs_dir(data_dir)
    write_file(directory / CA_FILE, certs.certificate_pem(shared.issued.certificate), replace=True)
    write_file(directory / CRL_FILE, shared.crl, replace=True)
    if not _server_certificate_holds(directory, shared.issued.certificate, now):
        write_server_certificate(directory, shared.issued, hosts, now, days)
    return directory


def write_server_certificate(
    directory: Path, ca: certs.Issued, hosts: Sequence[str], now: datetime, days: int
) -> certs.Issued:
    server = certs.issue_server_cert(ca, hosts, now, days)
    # The key first: a certificate on disk always has its key beside it.
    write_file(directory / SERVER_KEY_FILE, certs.key_pem(server.key), replace=True)
    write_file(
        directory / SERVER_CERT_FILE, certs.certificate_pem(server.certificate), replace=True
    )
    return server


def _server_certificate_holds(directory: Path, ca: x509.Certificate, now: datetime) -> bool:
    try:
        server = x509.load_pem_x509_certificate((directory / SERVER_CERT_FILE).read_bytes())
        if not (directory / SERVER_KEY_FILE).exists():
            return False
        server.verify_directly_issued_by(ca)
    except (OSError, ValueError, TypeError, InvalidSignature):  # none, or another CA's
        return False
    return server.not_valid_after_utc - RENEW_BEFORE > now.astimezone(UTC)


async def install_for_serving(settings: Settings) -> None:
    """Before a process serves TLS (the CoT TLS port, or HTTPS with the deployment's
    certificate) in a deployment with ``postgis_dsn``: its certificate folder from the
    deployment's CA. Without ``postgis_dsn`` the data folder keeps a CA of its own."""
    own_https = settings.http_tls_cert is not None and settings.http_tls_key is not None
    needed = settings.cot_tls_port is not None or (settings.https and not own_https)
    if settings.postgis_dsn is None or not needed:
        return
    hosts = connectable((settings.host,))
    await install(settings.postgis_dsn, settings.data_dir, hosts, datetime.now(UTC))
