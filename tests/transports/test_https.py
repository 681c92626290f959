"""HTTPS for the map and the API: the deployment's CA, or a certificate from elsewhere."""

from __future__ import annotations

import asyncio
import json
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tessera.security import certs
from tessera.security.tls import CA_FILE, certs_dir, create_deployment
from tessera.server import https_context
from tessera.settings import load_settings
from tests.support import Live, live_server

DEADLINE_S = 20.0


def run_live(tmp_path: Path, scenario: Any, **overrides: Any) -> None:
    async def main() -> None:
        async with live_server(tmp_path, **overrides) as live:
            await asyncio.wait_for(scenario(live), 60)

    asyncio.run(main())


def trusting(ca_pem: Path) -> ssl.SSLContext:
    """A client that trusts this CA and no other."""
    return ssl.create_default_context(cafile=ca_pem)


async def snapshot_over_wss(live: Live, context: ssl.SSLContext) -> dict[str, Any]:
    async with websockets.connect(live.ws_url, ssl=context, additional_headers=live.headers) as ws:
        await ws.send(json.dumps({"type": "subscribe"}))
        message: dict[str, Any] = json.loads(await ws.recv())
        return message


def test_https_and_wss_with_the_deployment_ca(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # Another deployment's CA: a client trusting only it must not reach this server.
    create_deployment(tmp_path / "other", ["127.0.0.1"], datetime.now(UTC))

    async def scenario(live: Live) -> None:
        assert live.base_url.startswith("https://") and live.ws_url.startswith("wss://")
        ours = trusting(certs_dir(data) / CA_FILE)
        async with httpx.AsyncClient(base_url=live.base_url, verify=ours) as client:
            health = await client.get("/api/v1/health")
        assert health.status_code == 200
        assert (await snapshot_over_wss(live, ours))["type"] == "snapshot"

        stranger = trusting(tmp_path / "other" / CA_FILE)
        async with httpx.AsyncClient(base_url=live.base_url, verify=stranger) as client:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.get("/api/v1/health")
        with pytest.raises(ssl.SSLCertVerificationError):
            await snapshot_over_wss(live, stranger)

    run_live(data, scenario, http_tls=True)


def test_plain_http_to_the_tls_port_gets_no_answer(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        host, port = live.base_url.removeprefix("https://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(b"GET /api/v1/health HTTP/1.1\r\nHost: tessera\r\n\r\n")
            async with asyncio.timeout(DEADLINE_S):
                received = await reader.read()
        except ConnectionResetError:
            received = b""
        finally:
            writer.close()
        # At most a TLS alert, then the connection is closed: nothing HTTP.
        assert b"HTTP/" not in received

    run_live(tmp_path, scenario, http_tls=True)


def test_https_with_a_certificate_from_elsewhere(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    ca = certs.create_ca("Elsewhere CA", now, 60)
    server = certs.issue_server_cert(ca, ["127.0.0.1"], now, 30)
    (tmp_path / "ca.pem").write_bytes(certs.certificate_pem(ca.certificate))
    # The certificate, then its chain, as a CA's "fullchain" file has them.
    chain = certs.certificate_pem(server.certificate) + certs.certificate_pem(ca.certificate)
    (tmp_path / "fullchain.pem").write_bytes(chain)
    (tmp_path / "key.pem").write_bytes(certs.key_pem(server.key))

    async def scenario(live: Live) -> None:
        elsewhere = trusting(tmp_path / "ca.pem")
        async with httpx.AsyncClient(base_url=live.base_url, verify=elsewhere) as client:
            assert (await client.get("/api/v1/health")).status_code == 200
        assert (await snapshot_over_wss(live, elsewhere))["type"] == "snapshot"
        # It never needed the deployment's own CA.
        assert not (certs_dir(tmp_path / "data") / CA_FILE).exists()

    run_live(
        tmp_path / "data",
        scenario,
        http_tls_cert=tmp_path / "fullchain.pem",
        http_tls_key=tmp_path / "key.pem",
    )


def test_https_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="go together"):
        load_settings(http_tls_cert=tmp_path / "cert.pem")
    missing = load_settings(
        data_dir=tmp_path, http_tls_cert=tmp_path / "cert.pem", http_tls_key=tmp_path / "key.pem"
    )
    assert missing.https
    with pytest.raises(ValueError, match=r"cannot serve HTTPS with .*cert\.pem"):
        https_context(missing)
    assert https_context(load_settings(data_dir=tmp_path)) is None
