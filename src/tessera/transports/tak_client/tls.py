"""The TLS context a link presents to its TAK server: the server checked against
``ca_file`` (else the system's trust), the client certificate from PEM files or a
PKCS#12 bundle (TAK servers hand clients ``.p12`` files)."""

from __future__ import annotations

import os
import ssl
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    pkcs12,
)

from tessera.transports.tak_client.config import TakServerConfig


def client_context(config: TakServerConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=config.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not config.check_hostname:
        context.check_hostname = False
    if config.client_cert is not None and config.client_key is not None:
        context.load_cert_chain(config.client_cert, config.client_key)
    elif config.p12 is not None:
        _load_p12(context, Path(config.p12), config.p12_password)
    return context


def _load_p12(context: ssl.SSLContext, path: Path, password: str | None) -> None:
    """``ssl`` reads PEM files only: the bundle's key and chain go through a private
    temporary file, removed at once."""
    key, cert, chain = pkcs12.load_key_and_certificates(
        path.read_bytes(), None if password is None else password.encode()
    )
    if key is None or cert is None:
        raise ValueError(f"{path}: no private key and certificate in the PKCS#12 bundle")
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    pem += cert.public_bytes(Encoding.PEM)
    pem += b"".join(extra.public_bytes(Encoding.PEM) for extra in chain)
    with tempfile.TemporaryDirectory(prefix="tessera-tak-") as folder:
        bundle = Path(folder) / "client.pem"
        descriptor = os.open(bundle, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(pem)
        context.load_cert_chain(bundle)
