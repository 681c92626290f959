"""A link over TLS: the server checked against the CA given, the link's own certificate
from a PKCS#12 bundle (as TAK servers hand them out) or PEM files."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tessera.security.certs import (
    certificate_pem,
    create_ca,
    issue_client_cert,
    issue_server_cert,
    key_pem,
    pkcs12,
)
from tests.transports.tak_client.support import FakeTakServer, until
from tests.transports.tak_client.test_tak_link import linked


def _server_context(tmp_path: Path) -> tuple[ssl.SSLContext, dict[str, dict[str, Any]]]:
    now = datetime.now(UTC)
    ca = create_ca("tak-ca", now, 60)
    server = issue_server_cert(ca, ["127.0.0.1"], now, 30)
    client = issue_client_cert(ca, "tessera-link", "link", now, 30)
    paths = {name: tmp_path / name for name in ("ca.pem", "srv.pem", "srv.key", "c.pem")}
    paths["ca.pem"].write_bytes(certificate_pem(ca.certificate))
    paths["srv.pem"].write_bytes(certificate_pem(server.certificate))
    paths["srv.key"].write_bytes(key_pem(server.key))
    paths["c.pem"].write_bytes(certificate_pem(client.certificate))
    (tmp_path / "c.key").write_bytes(key_pem(client.key))
    (tmp_path / "c.p12").write_bytes(pkcs12(client, ca.certificate, "atakatak", "link"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(paths["srv.pem"], paths["srv.key"])
    context.load_verify_locations(paths["ca.pem"])
    context.verify_mode = ssl.CERT_REQUIRED
    ca_file = str(paths["ca.pem"])
    ways = {
        "p12": {"ca_file": ca_file, "p12": str(tmp_path / "c.p12"), "p12_password": "atakatak"},
        "pem": {
            "ca_file": ca_file,
            "client_cert": str(paths["c.pem"]),
            "client_key": str(tmp_path / "c.key"),
        },
    }
    return context, ways


@pytest.mark.parametrize("way", ["p12", "pem"])
def test_the_link_speaks_tls_with_its_client_certificate(tmp_path: Path, way: str) -> None:
    context, ways = _server_context(tmp_path)

    async def scenario() -> None:
        async with FakeTakServer(tls=context) as fake, linked(
            tmp_path / "data", fake, **ways[way]
        ) as (_, links):  # fmt: skip
            await until(lambda: fake.connections and fake.connections[0].events, "presence")
            connection = fake.connections[0]
            assert connection.events[0].uid == "tessera-fake"
            assert (("commonName", "tessera-link"),) in connection.peer_subject
            assert links.links[0].status.connected

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_a_server_not_signed_by_the_ca_given_is_refused(tmp_path: Path) -> None:
    context, ways = _server_context(tmp_path)
    other = create_ca("someone-else", datetime.now(UTC), 30)
    stranger = tmp_path / "other-ca.pem"
    stranger.write_bytes(certificate_pem(other.certificate))

    async def scenario() -> None:
        settings = {**ways["pem"], "ca_file": str(stranger)}
        async with FakeTakServer(tls=context) as fake, linked(
            tmp_path / "data", fake, **settings
        ) as (_, links):  # fmt: skip
            status = links.links[0].status
            await until(lambda: status.reconnects >= 1, "a refused attempt")
            assert "CERTIFICATE_VERIFY_FAILED" in (status.last_error or "")
            assert not status.connected and status.sent == 0

    asyncio.run(asyncio.wait_for(scenario(), 60))
