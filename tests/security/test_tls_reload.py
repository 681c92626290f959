"""The CoT server's TLS context checks the CRL, and is built again when the CRL (or another
of the deployment's files) changes; a file that cannot be loaded keeps the last context."""

from __future__ import annotations

import asyncio
import logging
import ssl
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tessera.security import certs, tls
from tests.security.test_certs import Outcome, client_files, connect, der

NOW = datetime.now(UTC).replace(microsecond=0)


def deployment(tmp_path: Path) -> tuple[Path, certs.Issued, certs.Issued]:
    """A certificate folder as ``tessera certs init`` writes it (with an empty CRL), its
    CA, and a client certificate the CA issued."""
    directory = tmp_path / "certs"
    ca, _ = tls.create_deployment(directory, ["127.0.0.1", "localhost"], NOW)
    return directory, ca, certs.issue_client_cert(ca, "phone", "alice", NOW, 30)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_a_new_crl_refuses_the_revoked_certificate_in_the_next_handshake(
    tmp_path: Path, version: ssl.TLSVersion
) -> None:
    directory, ca, phone = deployment(tmp_path)
    cert_pem, key_pem = client_files(tmp_path, phone, "phone")
    client = tls.client_context(directory / tls.CA_FILE, cert_pem, key_pem)
    client.maximum_version = version
    contexts = tls.ServerContexts(directory)
    first = contexts.current()
    assert first.verify_flags & ssl.VERIFY_CRL_CHECK_LEAF
    assert contexts.current() is first  # nothing changed: the same context
    assert asyncio.run(connect(first, client)) == Outcome(b"ok", [der(phone.certificate)])
    revoked = certs.Revoked(phone.certificate.serial_number, NOW)
    tls.write_file(directory / tls.CRL_FILE, tls.crl_pem(ca, [revoked], NOW), replace=True)
    second = contexts.current()
    assert second is not first
    refused = asyncio.run(connect(second, client))
    assert refused.read in (None, b"") and refused.accepted == []


def test_a_crl_that_cannot_be_loaded_keeps_the_last_context(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory, _, _ = deployment(tmp_path)
    contexts = tls.ServerContexts(directory)
    first = contexts.current()
    tls.write_file(directory / tls.CRL_FILE, b"not a CRL", replace=True)
    with caplog.at_level(logging.ERROR, logger="tessera.security.tls"):
        assert contexts.current() is first
    assert "keeping the last" in caplog.text
