"""One CA for the deployment: a TAK client certificate issued once connects over TLS to
every gateway (each with a data folder and a server certificate of its own, all signed by
the deployment's CA), and one revoked through any of them is refused by all: its live
connections closed, and its handshakes refused once each gateway has the new CRL."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from tessera.cli import main
from tessera.core.model import Principal, Role
from tessera.security import tls
from tessera.security.postgis import PostgisSecurityStore
from tests.cluster.processes import Cluster, cluster
from tests.transports.cot_support import CotReader

pytestmark = pytest.mark.slow
WAIT_S = 15.0
# cot_recheck_s is 2 s by default: a generous bound.
CLOSED_WITHIN_S = 5.0
HOLDER = Principal(name="holder", communities=("NATO",), roles=(Role.VIEWER,))


async def tls_port(deployment: Cluster, process: asyncio.subprocess.Process) -> int:
    while not (line := await deployment.line(process)).startswith("listening cot-tls "):
        assert line.startswith("listening "), line
    return int(line.rsplit(":", 1)[1])


async def certs_command(deployment: Cluster, data: Path, *argv: str) -> None:
    command = ["certs", *argv, "--data", str(data), "--config", str(deployment.config)]
    assert await asyncio.to_thread(main, command) == 0


async def welcomed(port: int, context: ssl.SSLContext) -> bool:
    """Whether the gateway on ``port`` takes this client: it offers the TAK protocol, or
    it closes the connection without a word."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1"),
        WAIT_S,
    )
    cot = CotReader(reader)
    reading = asyncio.create_task(cot.run())
    try:
        done, _ = await asyncio.wait(
            {reading, asyncio.create_task(cot.wait_for(lambda e: e.type == "t-x-takp-v"))},
            timeout=WAIT_S,
            return_when=asyncio.FIRST_COMPLETED,
        )
        assert done, "neither welcomed nor closed"
        return any(event.type == "t-x-takp-v" for event in cot.events)
    except (ConnectionError, ssl.SSLError):
        return False
    finally:
        reading.cancel()
        writer.close()


async def revoking_crl(folder: Path, serial: int) -> x509.CertificateRevocationList:
    """The folder's CRL once it lists ``serial`` (a gateway copies it within seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while True:
        crl = x509.load_pem_x509_crl((folder / tls.CRL_FILE).read_bytes())
        if crl.get_revoked_certificate_by_serial_number(serial) or loop.time() > deadline:
            return crl
        await asyncio.sleep(0.1)


def test_a_client_certificate_issued_once_is_good_at_every_gateway_until_revoked(
    tmp_path: Path, migrated: str
) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, migrated) as deployment:
            store = PostgisSecurityStore(deployment.dsn)
            await store.open()
            try:
                await store.add_principal(HOLDER)
            finally:
                await store.close()
            # Issued from an administrator's own folder, before any gateway ran.
            admin = tmp_path / "admin"
            admin.mkdir()
            await certs_command(deployment, admin, "client", "phone", "--principal", "holder",
                                "--host", "127.0.0.1")  # fmt: skip
            clients = tls.certs_dir(admin) / "clients"
            context = tls.client_context(
                tls.certs_dir(admin) / tls.CA_FILE, clients / "phone.pem", clients / "phone.key"
            )
            first, _ = await deployment.start("gateway")
            second, _ = await deployment.start("gateway")
            ports = [await tls_port(deployment, first), await tls_port(deployment, second)]
            folders = [tls.certs_dir(tmp_path / f"gateway-{n}") for n in (0, 1)]
            servers = [(f / tls.SERVER_CERT_FILE).read_bytes() for f in folders]
            assert servers[0] != servers[1]  # each gateway its own
            ca = x509.load_pem_x509_certificate((tls.certs_dir(admin) / tls.CA_FILE).read_bytes())
            for pem in servers:
                x509.load_pem_x509_certificate(pem).verify_directly_issued_by(ca)
            assert [await welcomed(port, context) for port in ports] == [True, True]
            # A client stays connected to the second gateway.
            reader, writer = await asyncio.open_connection("127.0.0.1", ports[1], ssl=context)
            live = CotReader(reader)
            reading = asyncio.create_task(live.run())
            await live.wait_for(lambda e: e.type == "t-x-takp-v", WAIT_S)
            # Revoked through the first gateway's folder: refused by both, at once, and
            # the live client of the other closed within seconds.
            await certs_command(deployment, folders[0].parent, "revoke", "phone")
            revoked = asyncio.get_running_loop().time()
            assert [await welcomed(port, context) for port in ports] == [False, False]
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await asyncio.wait_for(reading, CLOSED_WITHIN_S)
            assert asyncio.get_running_loop().time() - revoked < CLOSED_WITHIN_S
            writer.close()
            phone = x509.load_pem_x509_certificate((clients / "phone.pem").read_bytes())
            for folder in folders:  # the other gateway copies the deployment's CRL
                crl = await revoking_crl(folder, phone.serial_number)
                assert crl.get_revoked_certificate_by_serial_number(phone.serial_number)
            # So its handshake itself now refuses the certificate.
            context.maximum_version = ssl.TLSVersion.TLSv1_2
            for port in ports:
                with pytest.raises((ssl.SSLError, ConnectionError)):
                    await asyncio.open_connection("127.0.0.1", port, ssl=context)

    asyncio.run(scenario())
