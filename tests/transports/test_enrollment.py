"""TAK enrollment on its own port: a client does exactly what ATAK and iTAK do (config,
a key and a signing request of its own, signClient/v2 with the user name and a one-time
token), then joins the CoT TLS port with the certificate it got, as its principal."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from tessera.cli import main as cli_main
from tessera.core.model import Label, Principal, Role
from tessera.security import certs, tls
from tessera.security.audit_filter import AuditFilter
from tessera.transports.enrollment.server import EnrollmentServer, start_enrollment
from tests.support import live_server, report_doc, track_of
from tests.transports.cot_support import CotReader, LiveCot, live_cot
from tests.transports.test_cot_stream import position, reports_about

pytestmark = pytest.mark.slow

FIELD = Principal(
    name="field",
    communities=("NATO",),
    clearance="RESTRICTED",
    roles=(Role.VIEWER, Role.REPORTER),
    default_label=Label("RESTRICTED", ("NATO",)),
)
UID = "ANDROID-5f2a9c01"
NATO_PICTURE = {
    "name": "NATO",
    "rule": {"max_classification": "RESTRICTED", "releasable_to": "NATO"},
    "reader_communities": ["NATO"],
}


@contextlib.asynccontextmanager
async def enrollment_port(live: LiveCot) -> AsyncIterator[int]:
    ports: dict[str, int] = {}

    def bind(host: str, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((host, port))
        sock.listen(16)
        sock.setblocking(False)
        return sock

    def announce(kind: str, sock: socket.socket) -> str:
        ports[kind] = sock.getsockname()[1]
        return ""

    server: EnrollmentServer | None = await start_enrollment(live.live.tessera, bind, announce)
    assert server is not None
    try:
        yield ports["tak-enroll"]
    finally:
        await server.stop()


async def make_token(data: Path, name: str, principal: str = "field", *extra: str) -> str:
    token_file = data / f"{name}.token"
    argv = ["certs", "enroll-token", name, "--principal", principal, "--data", str(data)]
    argv += ["--token-file", str(token_file), *extra]
    assert await asyncio.to_thread(cli_main, argv) == 0
    return token_file.read_text().strip()


def https_client(data: Path, port: int) -> httpx.AsyncClient:
    # The client trusts the deployment's CA (its trust store), as an enrolling ATAK must.
    trust = ssl.create_default_context(cafile=str(tls.certs_dir(data) / tls.CA_FILE))
    return httpx.AsyncClient(base_url=f"https://127.0.0.1:{port}", verify=trust)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def signing_request(
    common_name: str, entries: list[tuple[str, str]]
) -> tuple[rsa.RSAPrivateKey, bytes]:
    """A key and a CSR the way ATAK makes them: CN the user name, O/OU from the config."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    oids = {"O": x509.NameOID.ORGANIZATION_NAME, "OU": x509.NameOID.ORGANIZATIONAL_UNIT_NAME}
    names = [x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name)]
    names += [x509.NameAttribute(oids[name], value) for name, value in entries]
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(names))
        .sign(key, hashes.SHA256())
    )
    pem = csr.public_bytes(serialization.Encoding.PEM)
    return key, pem


def pem_of(body: str) -> bytes:
    return x509.load_der_x509_certificate(base64.b64decode(body)).public_bytes(
        serialization.Encoding.PEM
    )


def run_enrollment(tmp_path: Path, scenario: Any, **overrides: Any) -> None:
    async def main() -> None:
        overrides.setdefault("pictures", [NATO_PICTURE])
        async with (
            live_cot(tmp_path, [FIELD], **overrides) as live,
            enrollment_port(live) as port,
        ):
            await asyncio.wait_for(scenario(live, port), 60)

    asyncio.run(main())


def test_a_client_enrolls_with_a_one_time_token_and_joins_as_its_principal(
    tmp_path: Path,
) -> None:
    async def scenario(live: LiveCot, port: int) -> None:
        token = await make_token(tmp_path, "field-phone")
        label = {"classification": "RESTRICTED", "releasable_to": ["NATO"]}
        async with live.live.client() as admin:
            posted = await admin.post(
                "/api/v1/reports", json=[report_doc(report_id="t1", label=label)]
            )
            assert posted.status_code in (200, 202), posted.text
        assert await live.live.tessera.worker.wait_caught_up(live.live.tessera.journal.last_seq, 10)

        async with https_client(tmp_path, port) as client:
            config = await client.get("/Marti/api/tls/config", headers=basic("field-phone", token))
            assert config.status_code == 200, config.text
            document = etree.fromstring(config.content)
            assert etree.QName(document).localname == "certificateConfig"
            entries = [
                (entry.get("name"), entry.get("value"))
                for entry in document.iter("{http://bbn.com/marti/xml/config}nameEntry")
            ]
            assert [name for name, _ in entries] == ["O", "OU"]
            key, csr = signing_request("field-phone", [(n or "", v or "") for n, v in entries])
            # ATAK posts the request's base64 body alone, without its BEGIN/END lines.
            body = b"".join(csr.splitlines()[1:-1])
            signed = await client.post(
                "/Marti/api/tls/signClient/v2",
                params={"clientUid": UID, "version": "3"},
                content=body,
                headers=basic("field-phone", token),
            )
            assert signed.status_code == 200, signed.text
            assert signed.headers["content-type"].startswith("application/xml")
            answer = etree.fromstring(signed.content)
            assert answer.tag == "enrollment"
            certificate_pem = pem_of(answer.findtext("signedCert") or "")
            ca_pem = pem_of(answer.findtext("ca0") or "")

            # The token is used up: a second enrollment with it is refused.
            again = await client.post(
                "/Marti/api/tls/signClient/v2", content=body, headers=basic("field-phone", token)
            )
            assert again.status_code == 401
            assert again.headers["www-authenticate"].startswith("Basic")

        certificate = x509.load_pem_x509_certificate(certificate_pem)
        assert certificate.public_key() == key.public_key()
        certificate.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_pem))
        # Recorded as `tessera certs client` records one: its principal, its uid.
        store = live.live.tessera.security
        record = await store.certificate(certs.certificate_fingerprint(certificate))
        assert record is not None and (record.name, record.principal) == ("field-phone", "field")
        assert await store.certificate_uid(record.fingerprint) == UID

        # Connect to the CoT TLS port with it, as the client now does.
        (tmp_path / "client.pem").write_bytes(certificate_pem)
        (tmp_path / "client.key").write_bytes(certs.key_pem(key))
        (tmp_path / "ca0.pem").write_bytes(ca_pem)
        context = tls.client_context(
            tmp_path / "ca0.pem", tmp_path / "client.pem", tmp_path / "client.key"
        )
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", live.ports["cot-tls"], ssl=context, server_hostname="127.0.0.1"
        )
        events = CotReader(reader)
        reading = asyncio.create_task(events.run())
        try:
            writer.write(position(UID, 53.3, 18.1, "FIELD ONE"))
            await writer.drain()
            track = track_of(live.live, "t1")
            await events.wait_for(lambda e: e.uid.endswith(track))
            mine = await reports_about(live, UID)
            assert mine[0].label == FIELD.default_label
        finally:
            reading.cancel()
            writer.close()

    run_enrollment(tmp_path, scenario)


def test_wrong_tokens_are_refused_audited_and_limited(tmp_path: Path) -> None:
    async def scenario(live: LiveCot, port: int) -> None:
        token = await make_token(tmp_path, "field-tablet")
        async with https_client(tmp_path, port) as client:
            sign = "/Marti/api/tls/signClient/v2"
            wrong = await client.post(sign, content=b"x", headers=basic("field-tablet", "guess"))
            assert wrong.status_code == 401
            assert wrong.headers["www-authenticate"].startswith("Basic")
            nobody = await client.get("/Marti/api/tls/config", headers=basic("nobody", token))
            assert nobody.status_code == 401
            assert (await client.get("/Marti/api/tls/config")).status_code == 401
            # A bad request is refused plainly, and leaves the token unused.
            bad = await client.post(
                sign, content=b"not a CSR", headers=basic("field-tablet", token)
            )
            assert bad.status_code == 400
            assert "signing request" in bad.text
            _, csr = signing_request("field-tablet", [])
            good = await client.post(
                sign,
                content=csr,
                headers={**basic("field-tablet", token), "Accept": "application/json"},
            )
            assert good.status_code == 200, good.text
            answer = msgspec.json.decode(good.content)
            assert set(answer) == {"signedCert", "ca0"}
            # Past the allowance of failures, this address must wait, even with a good token.
            for _ in range(3):
                await client.get("/Marti/api/tls/config", headers=basic("field-tablet", "guess"))
            limited = await client.get(
                "/Marti/api/tls/config", headers=basic("field-tablet", token)
            )
            assert limited.status_code == 429
            assert int(limited.headers["retry-after"]) >= 1
            profile = await client.get(
                "/Marti/api/tls/profile/enrollment", params={"clientUid": UID}
            )
            assert profile.status_code == 204
        await live.live.tessera.audit.flush()
        events = await live.live.tessera.security.audit(AuditFilter(action="certificate.enroll"))
        failed = [(e.target, e.detail["reason"]) for e in events if e.outcome == "failed"]
        assert ("field-tablet", "wrong token") in failed
        assert ("nobody", "unknown name") in failed
        assert all(token not in str(e) for e in events)
        assert [e.target for e in events if e.outcome == "ok"] == ["field-tablet"]

    run_enrollment(tmp_path, scenario, auth_failures_allowed=5)


def test_an_expired_token_is_refused(tmp_path: Path) -> None:
    async def scenario(live: LiveCot, port: int) -> None:
        token = await make_token(tmp_path, "old-phone")
        store = live.live.tessera.security
        record = await store.enrollment("old-phone")
        assert record is not None
        await store.add_enrollment(msgspec.structs.replace(record, expires_at=record.created_at))
        async with https_client(tmp_path, port) as client:
            refused = await client.get("/Marti/api/tls/config", headers=basic("old-phone", token))
            assert refused.status_code == 401

    run_enrollment(tmp_path, scenario)


def test_the_enrollment_port_is_off_when_null_or_without_cot_tls(tmp_path: Path) -> None:
    def bind(host: str, port: int) -> socket.socket:
        raise AssertionError(f"bound {host}:{port}")

    def announce(kind: str, sock: socket.socket) -> str:
        raise AssertionError(kind)

    async def main() -> None:
        # (Settings files cannot say null: TOML has none; the struct can.)
        async with live_server(tmp_path) as live:
            settings = live.tessera.settings
            for ports in ({"tak_enrollment_port": None}, {"cot_tls_port": None}):
                live.tessera.settings = msgspec.structs.replace(settings, **ports)
                assert await start_enrollment(live.tessera, bind, announce) is None

    asyncio.run(main())
