"""Mutual TLS for federation links, on the deployment's own CA (``security.tls``).

The listener presents this node's server certificate and requires a client certificate
issued by one of the partners' CAs (``peer_ca`` of each link); the CA that issued it says
which link it is. Dialling, this node trusts only that link's ``peer_ca`` and presents
its own client certificate: the link's ``client_cert``, or one issued once by this
node's CA (``certs/federation-client.pem``)."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from tessera.federation.config import FederationLink
from tessera.security import certs
from tessera.security.tls import (
    CA_FILE,
    CA_KEY_FILE,
    SERVER_CERT_FILE,
    SERVER_KEY_FILE,
    ensure_deployment,
    write_file,
)

CLIENT_CERT_FILE: Final = "federation-client.pem"
CLIENT_KEY_FILE: Final = "federation-client.key"
CLIENT_DAYS: Final = 825


def listener_context(data_dir: Path, links: tuple[FederationLink, ...]) -> ssl.SSLContext:
    directory = ensure_deployment(data_dir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(directory / SERVER_CERT_FILE, directory / SERVER_KEY_FILE)
    context.verify_mode = ssl.CERT_REQUIRED
    for link in links:
        if link.peer_ca is not None:
            context.load_verify_locations(cafile=link.peer_ca)
    return context


def client_files(data_dir: Path, link: FederationLink, node: str) -> tuple[Path, Path]:
    """The certificate and key this node dials ``link`` with (made once if need be)."""
    if link.client_cert is not None and link.client_key is not None:
        return Path(link.client_cert), Path(link.client_key)
    directory = ensure_deployment(data_dir)
    cert_path, key_path = directory / CLIENT_CERT_FILE, directory / CLIENT_KEY_FILE
    if not cert_path.exists():
        ca = certs.load_issued(
            (directory / CA_FILE).read_bytes(), (directory / CA_KEY_FILE).read_bytes()
        )
        issued = certs.issue_client_cert(
            ca, f"federation {node}", node, datetime.now(UTC), CLIENT_DAYS
        )
        write_file(key_path, certs.key_pem(issued.key), replace=True)
        write_file(cert_path, certs.certificate_pem(issued.certificate), replace=True)
    return cert_path, key_path


def dialling_context(data_dir: Path, link: FederationLink, node: str) -> ssl.SSLContext:
    cert, key = client_files(data_dir, link, node)
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=link.peer_ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def link_of_certificate(der: bytes, links: tuple[FederationLink, ...]) -> FederationLink | None:
    """The link whose partner's CA issued the (verified) certificate ``der``."""
    presented = x509.load_der_x509_certificate(der)
    for link in links:
        if link.peer_ca is None:
            continue
        for ca in x509.load_pem_x509_certificates(Path(link.peer_ca).read_bytes()):
            try:
                presented.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return link
    return None
