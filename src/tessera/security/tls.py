"""TLS for the CoT stream with client certificates (port 8089), and for HTTPS: the
deployment's certificate files, the contexts, and who a presented certificate is.
Functions over files; the server owns the sockets.

The handshake proves a client holds a key certified by this deployment's CA and not
revoked: the CRL is checked for the client's own certificate, and ``ServerContexts``
builds a new context whenever the CRL (or another of the deployment's files) changes, so
``tessera certs revoke`` refuses the next handshake. The store then says whose the
certificate is and whether it still counts (revoked, expired, its principal disabled):
checked at every connection and, for live ones, every ``cot_recheck_s``. The CRL is
written valid for as long as its CA, so it never goes stale and locks everyone out.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import ssl
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from tessera.core.model import Principal
from tessera.private_files import FILE_MODE, private_folder
from tessera.security import certs
from tessera.security.base import CertificateRecord, SecurityStore

log = logging.getLogger(__name__)

CA_FILE: Final = "ca.pem"
CA_KEY_FILE: Final = "ca.key"
SERVER_CERT_FILE: Final = "server.pem"
SERVER_KEY_FILE: Final = "server.key"
CRL_FILE: Final = "crl.pem"
# A key before its certificate, so a certificate on disk always has its key beside it.
DEPLOYMENT_FILES: Final = (CA_KEY_FILE, CA_FILE, SERVER_KEY_FILE, SERVER_CERT_FILE, CRL_FILE)
DEFAULT_HOSTS: Final = ("127.0.0.1", "localhost")
CA_DAYS: Final = 3650
# Apple's TLS stack (iTAK) refuses server certificates valid for longer than 825 days.
SERVER_DAYS: Final = 825


def certs_dir(data_dir: Path) -> Path:
    """Where the CA, the server's certificate and the client certificates live."""
    return data_dir / "certs"


# -- contexts --------------------------------------------------------------------------


def server_context(certs_dir: Path) -> ssl.SSLContext:
    """TLS 1.2 or later, this server's certificate, and client certificates required and
    verified against the deployment's CA (only: not the system's CAs) and, when the
    folder has one, its CRL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certs_dir / SERVER_CERT_FILE, certs_dir / SERVER_KEY_FILE)
    context.load_verify_locations(cafile=certs_dir / CA_FILE)
    context.verify_mode = ssl.CERT_REQUIRED
    crl = certs_dir / CRL_FILE
    if crl.exists():
        # A file of PEM CRLs loads through cafile (cadata takes certificates only).
        context.load_verify_locations(cafile=crl)
        # The leaf only: the CA itself is the root, and has no CRL above it.
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    else:
        log.warning("no CRL in %s: revoked certificates are refused after the handshake", certs_dir)
    return context


def ensure_server_context(data_dir: Path, hosts: Sequence[str] = ()) -> ssl.SSLContext:
    """The server's context for the CoT stream (see ``ensure_deployment``)."""
    return server_context(ensure_deployment(data_dir, hosts))


class ServerContexts:
    """The server's context, built again when a file it is made of changes (a new CRL
    after ``tessera certs revoke``; a new CA or server certificate): each handshake takes
    ``current()``, which costs a few ``stat`` calls while nothing changed."""

    def __init__(self, certs_dir: Path) -> None:
        self.certs_dir = certs_dir
        self._stamp = self._files_stamp()
        self._context = server_context(certs_dir)

    def current(self) -> ssl.SSLContext:
        stamp = self._files_stamp()
        if stamp != self._stamp:
            try:
                context = server_context(self.certs_dir)
            except (OSError, ssl.SSLError, ValueError) as exc:
                # Half-replaced files, or a broken one: keep what worked, try again later.
                log.error(
                    "TLS files in %s could not be loaded (%s); keeping the last",
                    self.certs_dir,
                    exc,
                )
                return self._context
            self._context, self._stamp = context, stamp
            log.info("TLS context reloaded from %s", self.certs_dir)
        return self._context

    def _files_stamp(self) -> tuple[tuple[int, int, int] | None, ...]:
        # Files are replaced whole (a new inode), so the inode alone tells a new one; the
        # time and size catch a file rewritten in place.
        stamps: list[tuple[int, int, int] | None] = []
        for name in (CA_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE, CRL_FILE):
            try:
                found = (self.certs_dir / name).stat()
            except FileNotFoundError:
                stamps.append(None)
                continue
            stamps.append((found.st_ino, found.st_mtime_ns, found.st_size))
        return tuple(stamps)


def ensure_server_contexts(data_dir: Path, hosts: Sequence[str] = ()) -> ServerContexts:
    """The server's reloading contexts for the CoT stream (see ``ensure_deployment``)."""
    return ServerContexts(ensure_deployment(data_dir, hosts))


def https_context(cert_pem: Path, key_pem: Path) -> ssl.SSLContext:
    """HTTPS for the map and the API: TLS 1.2 or later with this certificate (and the
    chain after it in the file). Browsers present no client certificate: tokens say who
    is asking there."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_pem, key_pem)
    context.set_alpn_protocols(["http/1.1"])
    return context


def ensure_deployment(data_dir: Path, hosts: Sequence[str] = ()) -> Path:
    """The folder of the deployment's certificates; a data folder without a CA first gets
    one, with a server certificate for ``hosts`` and the loopback names, so a first
    ``tessera serve`` speaks TLS at once. ``tessera certs init`` does the same
    deliberately, and audits it."""
    directory = certs_dir(data_dir)
    if not (directory / CA_FILE).exists():
        names = connectable(hosts)
        create_deployment(directory, names, datetime.now(UTC))
        log.warning(
            "created a CA and a server certificate for %s in %s; `tessera certs init --force "
            "--host NAME` issues one for the names clients really use",
            ", ".join(names),
            directory,
        )
    return directory


def connectable(hosts: Iterable[str]) -> list[str]:
    """Bind addresses a client could connect to (not 0.0.0.0 or ::), then loopback."""
    names: list[str] = []
    for host in [*hosts, *DEFAULT_HOSTS]:
        try:
            unspecified = ipaddress.ip_address(host).is_unspecified
        except ValueError:
            unspecified = not host
        if not unspecified and host not in names:
            names.append(host)
    return names


def client_context(ca_pem: Path, cert_pem: Path, key_pem: Path) -> ssl.SSLContext:
    """What a TAK client does: trust the deployment's CA, present its own certificate."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_pem)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_pem, key_pem)
    return context


async def principal_of_certificate(
    store: SecurityStore, der: bytes, now: datetime
) -> Principal | None:
    """The principal a verified client certificate (DER) stands for, or None if the store
    does not know it, it is revoked or expired, or its principal is gone or disabled."""
    held = await certificate_holder(store, der, now)
    return None if held is None else held[1]


async def certificate_holder(
    store: SecurityStore, der: bytes, now: datetime
) -> tuple[CertificateRecord, Principal] | None:
    """A verified client certificate's record and the principal it stands for (None as
    for ``principal_of_certificate``)."""
    held = await certificate_standing(store, der, now)
    return held if isinstance(held, tuple) else None


async def certificate_standing(
    store: SecurityStore, der: bytes, now: datetime
) -> tuple[CertificateRecord, Principal] | str:
    """As ``certificate_holder``, but a certificate that does not count gives the reason."""
    record = await store.certificate(certs.fingerprint(der))
    if record is None:
        return "certificate unknown to the security store"
    principal = await store.principal(record.principal)
    refusal = certificate_refusal(record, principal, now)
    if refusal is not None:
        return refusal
    assert principal is not None  # else refused just above
    return record, principal


def certificate_refusal(
    record: CertificateRecord, principal: Principal | None, now: datetime
) -> str | None:
    """Why a known certificate (and the principal it was issued to) no longer counts; None
    if it does."""
    if record.revoked_at is not None:
        return "certificate revoked"
    if not record.usable(now):
        return "certificate expired" if now >= record.expires_at else "certificate not yet valid"
    if principal is None:
        return f"principal {record.principal} no longer exists"
    if principal.disabled:
        return f"principal {principal.name} disabled"
    return None


# -- files -----------------------------------------------------------------------------


def create_deployment(
    directory: Path,
    hosts: Sequence[str],
    now: datetime,
    days: int = SERVER_DAYS,
    *,
    replace: bool = False,
) -> tuple[certs.Issued, certs.Issued]:
    """Write a new CA (valid 10 years, or longer to cover the server's certificate), a
    server certificate for ``hosts`` valid ``days``, and an empty CRL; the CA and the
    server's certificate with their keys."""
    # A random suffix tells this deployment's CA from another's in a client's trust list.
    ca = certs.create_ca(f"Tessera CA {secrets.token_hex(4)}", now, max(CA_DAYS, days))
    server = certs.issue_server_cert(ca, hosts, now, days)
    contents = {
        CA_KEY_FILE: certs.key_pem(ca.key),
        CA_FILE: certs.certificate_pem(ca.certificate),
        SERVER_KEY_FILE: certs.key_pem(server.key),
        SERVER_CERT_FILE: certs.certificate_pem(server.certificate),
        CRL_FILE: crl_pem(ca, [], now),
    }
    for name in DEPLOYMENT_FILES:
        write_file(directory / name, contents[name], replace=replace)
    return ca, server


def crl_pem(ca: certs.Issued, revoked: Iterable[certs.Revoked], now: datetime) -> bytes:
    # Valid as long as the CA: it is rewritten at every revocation, and a CRL that went
    # stale while nothing changed would make a checking proxy refuse every client.
    next_update = max(ca.certificate.not_valid_after_utc, now + timedelta(days=1))
    return certs.crl(ca, revoked, now, next_update)


def write_file(path: Path, data: bytes, *, replace: bool = False) -> None:
    """Write a file readable by its owner only from its first byte (a key is never
    readable by others, not even briefly), in an owner-only folder: certificates too, as
    everything in the data folder is. Without ``replace`` an existing file is a
    ValueError; with it, the new content takes the old one's place at once."""
    private_folder(path.parent)
    target = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp") if replace else path
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        raise ValueError(f"{path} already exists: not overwriting it") from None
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(file.fileno(), FILE_MODE)  # exactly this mode, whatever the umask
        file.write(data)
    if replace:
        os.replace(target, path)
