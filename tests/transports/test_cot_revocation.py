"""Revocation reaches TAK clients: a revoked certificate or a disabled principal closes the
live connection within seconds, a revoked certificate (or none, or another CA's) fails
the TLS handshake itself, and every refused connection is on the audit trail with its
reason."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tessera.cli import main as cli_main
from tessera.security import certs, tls
from tessera.security.audit_filter import AuditFilter
from tessera.security.base import AuditEvent
from tessera.security.tls import CA_FILE, certs_dir
from tessera.transports.cot_stream.refusals import REFUSED_CONNECTION
from tessera.transports.cot_stream.standing import recheck
from tests.transports.cot_support import CotReader, LiveCot, live_cot
from tests.transports.test_cot_stream import FIELD, provision_certificate

pytestmark = pytest.mark.slow
HOLDER = ("--communities", "NATO", "--clearance", "SECRET", "--roles", "viewer,reporter")
PING = (
    b'<event version="2.0" uid="ping-1" type="t-x-c-t" how="m-g" '
    b'time="2026-11-25T10:00:00Z" start="2026-11-25T10:00:00Z" stale="2030-11-25T10:00:00Z">'
    b'<point lat="0" lon="0" hae="0" ce="999999" le="999999"/><detail/></event>'
)
# The bound the operator is promised (cot_recheck_s is 2 s by default): generous.
CLOSED_WITHIN_S = 5.0


def client_context(
    data: Path, name: str, *, tls_max: ssl.TLSVersion | None = None
) -> ssl.SSLContext:
    clients = certs_dir(data) / "clients"
    context = tls.client_context(
        certs_dir(data) / CA_FILE, clients / f"{name}.pem", clients / f"{name}.key"
    )
    if tls_max is not None:
        context.maximum_version = tls_max
    return context


class TlsClient:
    """A TAK client of our own over TLS: reads everything the server sends until EOF."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.cot = CotReader(reader)
        self.ended = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, port: int, context: ssl.SSLContext) -> TlsClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        return cls(reader, writer)

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self.cot.run()

    async def close(self) -> None:
        self.ended.cancel()
        self.writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self.writer.wait_closed()


async def refused_in_handshake(port: int, context: ssl.SSLContext) -> bytes | None:
    """What a refused client reads: None if its handshake raised (TLS 1.2: the server's
    verdict comes before the client finishes), else the bytes up to the end (TLS 1.3: the
    client's side ends first, and the server closes before sending anything)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    except (ssl.SSLError, ConnectionError):
        return None
    try:
        return await asyncio.wait_for(reader.read(), 10)
    except (ssl.SSLError, ConnectionError):
        return b""
    finally:
        writer.close()
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            await writer.wait_closed()


async def audited(
    live: LiveCot, action: str, wanted: Callable[[AuditEvent], bool], timeout: float = 10.0
) -> AuditEvent:
    """The first audit event of ``action`` that ``wanted`` admits, once it is written."""
    tessera = live.live.tessera
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await tessera.audit.flush()
        for event in await tessera.security.audit(AuditFilter(action=action)):
            if wanted(event):
                return event
        assert loop.time() < deadline, f"no {action} event as wanted"
        await asyncio.sleep(0.05)


def reason_is(text: str) -> Callable[[AuditEvent], bool]:
    return lambda event: event.detail.get("reason") == text


Scenario = Callable[[LiveCot], Awaitable[None]]


def run(tmp_path: Path, scenario: Scenario, **overrides: Any) -> None:
    async def main() -> None:
        async with live_cot(tmp_path, [FIELD], **overrides) as live:
            await asyncio.wait_for(scenario(live), 60)

    asyncio.run(main())


def test_revoking_a_connected_clients_certificate_closes_it_and_refuses_its_next_handshake(
    tmp_path: Path,
) -> None:
    provision_certificate(tmp_path, "phone", "holder", *HOLDER)

    async def scenario(live: LiveCot) -> None:
        port = live.ports["cot-tls"]
        client = await TlsClient.connect(port, client_context(tmp_path, "phone"))
        await client.cot.wait_for(lambda e: e.type == "t-x-takp-v")
        # The operator revokes it from another process's command line.
        revoke = ["certs", "revoke", "phone", "--data", str(tmp_path)]
        assert await asyncio.to_thread(cli_main, revoke) == 0
        changed = asyncio.get_running_loop().time()
        await asyncio.wait_for(client.ended, CLOSED_WITHIN_S)
        assert asyncio.get_running_loop().time() - changed < CLOSED_WITHIN_S
        await client.close()
        closed = await audited(live, "cot.closed", reason_is("certificate revoked"))
        assert closed.principal == "holder" and closed.outcome == "denied"
        assert closed.address == "127.0.0.1"
        # The new CRL is in the server's context: the next handshake fails, for either
        # TLS version, and the refusal names the reason OpenSSL gave.
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            context = client_context(tmp_path, "phone", tls_max=version)
            assert await refused_in_handshake(port, context) in (None, b"")
        tls12 = client_context(tmp_path, "phone", tls_max=ssl.TLSVersion.TLSv1_2)
        with pytest.raises((ssl.SSLError, ConnectionError)):
            await asyncio.open_connection("127.0.0.1", port, ssl=tls12)
        refusal = await audited(live, REFUSED_CONNECTION, reason_is("certificate revoked"))
        assert refusal.outcome == "denied" and refusal.address == "127.0.0.1"
        assert refusal.detail["kind"] == "tls"

    run(tmp_path, scenario)


def test_disabling_a_connected_clients_principal_closes_it_and_refuses_it_after(
    tmp_path: Path,
) -> None:
    provision_certificate(tmp_path, "phone", "holder", *HOLDER)

    async def scenario(live: LiveCot) -> None:
        port = live.ports["cot-tls"]
        client = await TlsClient.connect(port, client_context(tmp_path, "phone"))
        await client.cot.wait_for(lambda e: e.type == "t-x-takp-v")
        disable = ["users", "disable", "holder", "--data", str(tmp_path)]
        assert await asyncio.to_thread(cli_main, disable) == 0
        changed = asyncio.get_running_loop().time()
        await asyncio.wait_for(client.ended, CLOSED_WITHIN_S)
        assert asyncio.get_running_loop().time() - changed < CLOSED_WITHIN_S
        await client.close()
        await audited(live, "cot.closed", reason_is("principal holder disabled"))
        # Its certificate is still good for the handshake; the store refuses it after.
        again = await TlsClient.connect(port, client_context(tmp_path, "phone"))
        await asyncio.wait_for(again.ended, 10)
        assert again.cot.events == []
        await again.close()
        refusal = await audited(live, REFUSED_CONNECTION, reason_is("principal holder disabled"))
        assert refusal.detail["kind"] == "tls" and len(refusal.target) == 64

    run(tmp_path, scenario)


def test_a_plain_tcp_client_is_closed_when_its_ports_principal_is_disabled(
    tmp_path: Path,
) -> None:
    async def scenario(live: LiveCot) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", live.ports["cot"])
        client = CotReader(reader)
        reading = asyncio.create_task(client.run())
        await client.wait_for(lambda e: e.type == "t-x-takp-v")
        await live.live.tessera.security.set_disabled("field", True)
        await asyncio.wait_for(reading, CLOSED_WITHIN_S)
        writer.close()
        closed = await audited(live, "cot.closed", reason_is("principal field disabled"))
        assert closed.detail["kind"] == "tcp"

    run(tmp_path, scenario, cot_tcp_port=0, cot_tcp_principal="field")


def test_refused_in_the_handshake_no_certificate_and_another_cas_and_audited(
    tmp_path: Path,
) -> None:
    provision_certificate(tmp_path, "phone", "holder", *HOLDER)
    now = datetime.now(UTC)
    stranger_ca = certs.create_ca("Elsewhere CA", now, 60)
    stranger = certs.issue_client_cert(stranger_ca, "mallory", "holder", now, 30)
    clients = certs_dir(tmp_path) / "clients"
    (clients / "mallory.pem").write_bytes(certs.certificate_pem(stranger.certificate))
    (clients / "mallory.key").write_bytes(certs.key_pem(stranger.key))

    async def scenario(live: LiveCot) -> None:
        port = live.ports["cot-tls"]
        anonymous = ssl.create_default_context(cafile=certs_dir(tmp_path) / CA_FILE)
        assert await refused_in_handshake(port, anonymous) in (None, b"")
        await audited(live, REFUSED_CONNECTION, reason_is("no client certificate"))
        foreign = client_context(tmp_path, "mallory")
        assert await refused_in_handshake(port, foreign) in (None, b"")
        await audited(live, REFUSED_CONNECTION, reason_is("unable to get local issuer certificate"))

    run(tmp_path, scenario)


def test_a_certificate_the_store_does_not_know_is_refused_and_audited(tmp_path: Path) -> None:
    provision_certificate(tmp_path, "phone", "holder", *HOLDER)
    # Signed by the deployment's CA, but never recorded (as from a copy of its key).
    directory = certs_dir(tmp_path)
    ca = certs.load_issued(
        (directory / CA_FILE).read_bytes(), (directory / tls.CA_KEY_FILE).read_bytes()
    )
    unrecorded = certs.issue_client_cert(ca, "ghost", "holder", datetime.now(UTC), 30)
    (directory / "clients" / "ghost.pem").write_bytes(certs.certificate_pem(unrecorded.certificate))
    (directory / "clients" / "ghost.key").write_bytes(certs.key_pem(unrecorded.key))

    async def scenario(live: LiveCot) -> None:
        client = await TlsClient.connect(live.ports["cot-tls"], client_context(tmp_path, "ghost"))
        await asyncio.wait_for(client.ended, 10)
        assert client.cot.events == []
        await client.close()
        refusal = await audited(
            live, REFUSED_CONNECTION, reason_is("certificate unknown to the security store")
        )
        assert refusal.target == certs.certificate_fingerprint(unrecorded.certificate)

    run(tmp_path, scenario)


def test_a_client_that_never_starts_the_handshake_is_closed_and_audited(tmp_path: Path) -> None:
    async def scenario(live: LiveCot) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", live.ports["cot-tls"])
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
        await audited(live, REFUSED_CONNECTION, reason_is("no TLS handshake within 0.5 s"))

    run(tmp_path, scenario, cot_handshake_timeout_s=0.5)


def test_what_a_client_writes_right_after_its_handshake_is_answered(tmp_path: Path) -> None:
    provision_certificate(tmp_path, "phone", "holder", *HOLDER)

    async def scenario(live: LiveCot) -> None:
        for _ in range(5):
            client = await TlsClient.connect(
                live.ports["cot-tls"], client_context(tmp_path, "phone")
            )
            # Before the server can have identified it: the ping must wait, not be lost.
            client.writer.write(PING)
            await client.cot.wait_for(lambda e: e.type == "t-x-c-t-r")
            await client.close()

    run(tmp_path, scenario)


def test_a_closing_client_is_closed_and_audited_once(tmp_path: Path) -> None:
    provision_certificate(tmp_path, "phone", "holder", *HOLDER)

    async def scenario(live: LiveCot) -> None:
        client = await TlsClient.connect(live.ports["cot-tls"], client_context(tmp_path, "phone"))
        await client.cot.wait_for(lambda e: e.type == "t-x-takp-v")
        await live.live.tessera.security.set_disabled("holder", True)
        # Twice before its close completes (the TLS close waits for the client's answer).
        await recheck(live.cot)
        await recheck(live.cot)
        await asyncio.wait_for(client.ended, 10)
        await client.close()
        await audited(live, "cot.disconnect", lambda event: event.principal == "holder")
        closed = await live.live.tessera.security.audit(AuditFilter(action="cot.closed"))
        assert len(closed) == 1

    # No recheck of its own during the test: only the two above.
    run(tmp_path, scenario, cot_recheck_s=3600)
