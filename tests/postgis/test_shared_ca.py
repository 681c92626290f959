"""With PostgreSQL the deployment has one CA: made once, whoever asks first (two at once
get the same), its key encrypted at rest; each process's folder gets the CA's certificate,
the CRL and a server certificate of its own signed by it; ``tessera certs`` issues and
revokes against it."""

from __future__ import annotations

import asyncio
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tessera.cli import main
from tessera.security import certs, shared_ca, tls
from tessera.security.postgis import PostgisSecurityStore

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_two_processes_at_once_make_one_ca(migrated: str) -> None:
    async def both() -> list[shared_ca.SharedCa]:
        return list(
            await asyncio.gather(*(shared_ca.deployment_ca(migrated, NOW) for _ in range(4)))
        )

    found = asyncio.run(both())
    assert len({certs.certificate_fingerprint(ca.issued.certificate) for ca in found}) == 1
    assert sum(ca.created for ca in found) == 1
    again = asyncio.run(shared_ca.deployment_ca(migrated, NOW))
    assert again.issued.certificate == found[0].issued.certificate
    assert not again.created


def test_the_ca_key_is_encrypted_at_rest(migrated: str) -> None:
    made = asyncio.run(shared_ca.deployment_ca(migrated, NOW))
    with psycopg.connect(migrated) as conn:
        row = conn.execute("SELECT encrypted_key FROM deployment_ca").fetchone()
    assert row is not None
    stored = bytes(row[0])
    assert b"ENCRYPTED PRIVATE KEY" in stored
    with pytest.raises(TypeError, match="encrypted"):
        serialization.load_pem_private_key(stored, password=None)
    assert made.issued.key.private_numbers() is not None


def test_each_folder_gets_the_ca_and_a_server_certificate_of_its_own(
    migrated: str, tmp_path: Path
) -> None:
    first = asyncio.run(shared_ca.install(migrated, tmp_path / "a", ["gw-a.example"], NOW))
    second = asyncio.run(shared_ca.install(migrated, tmp_path / "b", ["gw-b.example"], NOW))
    assert (first / tls.CA_FILE).read_bytes() == (second / tls.CA_FILE).read_bytes()
    ca = x509.load_pem_x509_certificate((first / tls.CA_FILE).read_bytes())
    servers = [
        x509.load_pem_x509_certificate((folder / tls.SERVER_CERT_FILE).read_bytes())
        for folder in (first, second)
    ]
    for server in servers:
        server.verify_directly_issued_by(ca)
    assert [certs.host_names(server) for server in servers] == [["gw-a.example"], ["gw-b.example"]]
    # The CA's key stays in the database; what is written is the owner's alone.
    assert not (first / tls.CA_KEY_FILE).exists()
    for name in (tls.CA_FILE, tls.CRL_FILE, tls.SERVER_CERT_FILE, tls.SERVER_KEY_FILE):
        assert stat.S_IMODE((first / name).stat().st_mode) == 0o600
    # Started again: the same server certificate, still the CA's.
    before = (first / tls.SERVER_CERT_FILE).read_bytes()
    asyncio.run(shared_ca.install(migrated, tmp_path / "a", ["gw-a.example"], NOW))
    assert (first / tls.SERVER_CERT_FILE).read_bytes() == before


def test_a_folder_of_another_ca_gets_the_deployments(migrated: str, tmp_path: Path) -> None:
    # A data folder from a process that made its own CA (or an older deployment's).
    tls.create_deployment(tls.certs_dir(tmp_path), ["127.0.0.1"], NOW)
    own = (tls.certs_dir(tmp_path) / tls.CA_FILE).read_bytes()
    folder = asyncio.run(shared_ca.install(migrated, tmp_path, ["127.0.0.1"], NOW))
    deployment = asyncio.run(shared_ca.deployment_ca(migrated, NOW)).issued.certificate
    assert (folder / tls.CA_FILE).read_bytes() == certs.certificate_pem(deployment) != own
    server = x509.load_pem_x509_certificate((folder / tls.SERVER_CERT_FILE).read_bytes())
    server.verify_directly_issued_by(deployment)
    tls.server_context(folder)  # the key and the certificate belong together


def test_certs_commands_work_against_the_deployments_ca(
    migrated: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "tessera.toml"
    config.write_text(f'postgis_dsn = "{migrated}"\n')
    first, second = tmp_path / "gw-1", tmp_path / "gw-2"

    def run(*argv: str, data: Path) -> str:
        code = main([*argv, "--data", str(data), "--config", str(config)])
        out, err = capsys.readouterr()
        assert code == 0, err
        return out

    run("users", "add", "holder", "--roles", "viewer", data=first)
    assert "made the deployment's CA" in run("certs", "init", "--host", "gw-1", data=first)
    assert "using the deployment's CA" in run("certs", "init", "--host", "gw-2", data=second)
    ca_pems = {(tls.certs_dir(d) / tls.CA_FILE).read_bytes() for d in (first, second)}
    assert len(ca_pems) == 1
    ca = x509.load_pem_x509_certificate(ca_pems.pop())
    # Issued through one gateway's folder, revoked through the other's.
    run("certs", "client", "phone", "--principal", "holder", data=first)
    phone = x509.load_pem_x509_certificate(
        (tls.certs_dir(first) / "clients" / "phone.pem").read_bytes()
    )
    phone.verify_directly_issued_by(ca)
    run("certs", "revoke", "phone", data=second)
    revoked_serials = [
        [entry.serial_number for entry in x509.load_pem_x509_crl(pem)]
        for pem in (
            (tls.certs_dir(second) / tls.CRL_FILE).read_bytes(),
            asyncio.run(shared_ca.deployment_ca(migrated, NOW)).crl,
        )
    ]
    assert revoked_serials == [[phone.serial_number], [phone.serial_number]]
    # A new CA for the deployment voids the old one's certificates.
    out = run("certs", "init", "--force", "--host", "gw-1", data=first)
    assert "made the deployment's CA" in out
    replaced = asyncio.run(shared_ca.deployment_ca(migrated, NOW)).issued.certificate
    assert replaced != ca


def test_the_security_store_gives_the_deployments_crl_once_each_time_it_is_written(
    migrated: str,
) -> None:
    later = NOW + timedelta(minutes=5)

    async def scenario() -> None:
        store = PostgisSecurityStore(migrated)
        await store.open()
        try:
            assert await store.deployment_crl(None) is None  # no CA yet
            made = await shared_ca.deployment_ca(migrated, NOW)
            found = await store.deployment_crl(None)
            assert found == (NOW, made.crl)
            assert await store.deployment_crl(NOW) is None  # nothing new since
            newer = tls.crl_pem(made.issued, [certs.Revoked(42, NOW)], later)
            await shared_ca.store_crl(migrated, newer, later)
            assert await store.deployment_crl(NOW) == (later, newer)
        finally:
            await store.close()

    asyncio.run(scenario())
