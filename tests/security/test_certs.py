"""Certificates for TAK clients: what they are, that TLS accepts exactly them, and who they
stand for."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import ipaddress
import shutil
import ssl
import stat
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tessera.core.model import Principal
from tessera.security import certs, tak_package, tls
from tessera.security.base import CertificateRecord, SecurityStore
from tessera.security.sqlite import SqliteSecurityStore, security_store_path

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def ca() -> certs.Issued:
    return certs.create_ca("Tessera CA test", NOW, 3650)


@pytest.fixture(scope="module")
def other_ca() -> certs.Issued:
    return certs.create_ca("Someone else's CA", NOW, 3650)


@pytest.fixture(scope="module")
def server(ca: certs.Issued) -> certs.Issued:
    return certs.issue_server_cert(ca, ["localhost", "127.0.0.1"], NOW, 825)


@pytest.fixture(scope="module")
def phone(ca: certs.Issued) -> certs.Issued:
    return certs.issue_client_cert(ca, "alice-phone", "alice", NOW, 365)


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


# -- what is issued --------------------------------------------------------------------


def test_the_ca_signs_certificates_and_crls_only(ca: certs.Issued) -> None:
    certificate = ca.certificate
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert constraints.critical and constraints.value.ca
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    certificate.verify_directly_issued_by(certificate)
    assert certificate.not_valid_after_utc - NOW == timedelta(days=3650)
    # RSA 2048: what every TAK client accepts.
    assert isinstance(ca.key, rsa.RSAPrivateKey) and ca.key.key_size == 2048


def test_the_server_certificate_verifies_for_each_of_its_hosts(
    ca: certs.Issued, server: certs.Issued
) -> None:
    store = verification.Store([ca.certificate])
    builder = verification.PolicyBuilder().store(store).time(NOW + timedelta(hours=1))
    loopback = ipaddress.ip_address("127.0.0.1")
    for subject in (x509.DNSName("localhost"), x509.IPAddress(loopback)):
        chain = builder.build_server_verifier(subject).verify(server.certificate, [])
        assert chain[-1] == ca.certificate
    with pytest.raises(verification.VerificationError):
        builder.build_server_verifier(x509.DNSName("elsewhere.example")).verify(
            server.certificate, []
        )
    assert certs.host_names(server.certificate) == ["localhost", "127.0.0.1"]
    usage = server.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert list(usage.value) == [ExtendedKeyUsageOID.SERVER_AUTH]


def client_verifier(ca: certs.Issued) -> verification.ClientVerifier:
    # The Web PKI's defaults, but for the subject alternative name: TAK client
    # certificates (TAK Server's included) name their holder in the subject alone.
    leaf_policy = verification.ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, verification.Criticality.AGNOSTIC, None
    )
    return (
        verification.PolicyBuilder()
        .store(verification.Store([ca.certificate]))
        .time(NOW)
        .extension_policies(
            ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(), ee_policy=leaf_policy
        )
        .build_client_verifier()
    )


def test_a_client_certificate_names_itself_and_its_principal(
    ca: certs.Issued, phone: certs.Issued
) -> None:
    verified = client_verifier(ca).verify(phone.certificate, [])
    assert verified.chain[-1] == ca.certificate
    subject = phone.certificate.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice-phone"
    assert subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "alice"
    usage = phone.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert list(usage.value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert phone.certificate.not_valid_after_utc - NOW == timedelta(days=365)


def test_a_certificate_from_another_ca_does_not_verify(
    ca: certs.Issued, other_ca: certs.Issued
) -> None:
    stranger = certs.issue_client_cert(other_ca, "mallory", "alice", NOW, 30)
    with pytest.raises(verification.VerificationError):
        client_verifier(ca).verify(stranger.certificate, [])


def test_nothing_outlives_its_ca(ca: certs.Issued) -> None:
    with pytest.raises(ValueError, match="outlive its CA"):
        certs.issue_client_cert(ca, "phone", "alice", NOW, 3651)
    with pytest.raises(ValueError, match="at least one host"):
        certs.issue_server_cert(ca, [], NOW, 10)


def test_fingerprint_is_sha256_of_der_in_lowercase_hex(phone: certs.Issued) -> None:
    encoded = der(phone.certificate)
    assert certs.fingerprint(encoded) == hashlib.sha256(encoded).hexdigest()
    assert certs.certificate_fingerprint(phone.certificate) == certs.fingerprint(encoded)
    assert len(certs.fingerprint(encoded)) == 64


def test_pem_round_trips_and_a_mismatched_key_is_refused(
    phone: certs.Issued, server: certs.Issued
) -> None:
    pem, key = certs.certificate_pem(phone.certificate), certs.key_pem(phone.key)
    assert key.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = certs.load_issued(pem, key)
    assert loaded.certificate == phone.certificate
    assert loaded.key.private_numbers() == phone.key.private_numbers()
    with pytest.raises(ValueError, match="do not belong together"):
        certs.load_issued(pem, certs.key_pem(server.key))


def test_pkcs12_loads_back_with_its_password_only(ca: certs.Issued, phone: certs.Issued) -> None:
    blob = certs.pkcs12(phone, ca.certificate, "s3cret", "alice-phone")
    loaded = pkcs12.load_pkcs12(blob, b"s3cret")
    assert loaded.cert is not None and loaded.cert.certificate == phone.certificate
    assert loaded.cert.friendly_name == b"alice-phone"
    assert isinstance(loaded.key, rsa.RSAPrivateKey)
    assert loaded.key.private_numbers() == phone.key.private_numbers()
    assert [c.certificate for c in loaded.additional_certs] == [ca.certificate]
    with pytest.raises(ValueError, match=r"(?i)password"):
        pkcs12.load_pkcs12(blob, b"wrong")
    with pytest.raises(ValueError, match="password"):
        certs.pkcs12(phone, ca.certificate, "", "alice-phone")


def test_the_truststore_holds_the_ca_alone(ca: certs.Issued) -> None:
    loaded = pkcs12.load_pkcs12(certs.truststore(ca.certificate, "pw", "tessera"), b"pw")
    assert loaded.key is None and loaded.cert is None
    assert [c.certificate for c in loaded.additional_certs] == [ca.certificate]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("keytool") is None, reason="no Java keytool here")
def test_java_key_stores_read_both_pkcs12_files(
    ca: certs.Issued, phone: certs.Issued, tmp_path: Path
) -> None:
    # ATAK and TAK Server read these through Java's KeyStore: the trust store must hold a
    # trusted certificate entry, the client's file a private key entry.
    files = {
        "trustedCertEntry": certs.truststore(ca.certificate, "pw-1234", "tessera"),
        "PrivateKeyEntry": certs.pkcs12(phone, ca.certificate, "pw-1234", "alice-phone"),
    }
    for kind, blob in files.items():
        path = tmp_path / f"{kind}.p12"
        path.write_bytes(blob)
        listing = subprocess.run(
            ["keytool", "-list", "-storetype", "PKCS12", "-keystore", str(path)],
            input="pw-1234\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        assert "contains 1 entry" in listing and kind in listing, listing


def test_the_crl_lists_the_revoked_serials_signed_by_the_ca(
    ca: certs.Issued, phone: certs.Issued
) -> None:
    revoked = [certs.Revoked(phone.certificate.serial_number, NOW)]
    crl = x509.load_pem_x509_crl(certs.crl(ca, revoked, NOW, NOW + timedelta(days=30)))
    assert crl.is_signature_valid(ca.key.public_key())
    assert crl.issuer == ca.certificate.subject
    entry = crl.get_revoked_certificate_by_serial_number(phone.certificate.serial_number)
    assert entry is not None and entry.revocation_date_utc == NOW
    empty = x509.load_pem_x509_crl(certs.crl(ca, [], NOW, NOW + timedelta(days=30)))
    assert len(empty) == 0


# -- the data package ------------------------------------------------------------------


def test_the_data_package_holds_what_a_tak_client_imports(
    ca: certs.Issued, phone: certs.Issued
) -> None:
    connection = tak_package.Connection("127.0.0.1", 8089)
    blob = tak_package.data_package(
        "alice-phone.zip", connection, ca.certificate, phone, "alice", "s3cret-pw"
    )
    package = read_package(blob)
    assert package.preferences["cot_streams"]["connectString0"] == "127.0.0.1:8089:ssl"
    assert package.preferences["cot_streams"]["count"] == "1"
    assert package.preferences["cot_streams"]["enabled0"] == "true"
    app = package.preferences["com.atakmap.app_preferences"]
    truststore = pkcs12.load_pkcs12(package.file_at(app["caLocation"]), app["caPassword"].encode())
    assert [c.certificate for c in truststore.additional_certs] == [ca.certificate]
    # The client's password is not in the package: its holder types it in.
    assert "clientPassword" not in app
    assert not any(b"s3cret-pw" in entry for entry in package.entries.values())
    client = pkcs12.load_pkcs12(package.file_at(app["certificateLocation"]), b"s3cret-pw")
    assert client.cert is not None and client.cert.certificate == phone.certificate


def test_a_connect_string_has_no_room_for_ipv6_or_a_bad_port() -> None:
    for host, port in (("::1", 8089), ("", 8089), ("a host", 8089), ("tak", 0), ("tak", 70000)):
        with pytest.raises(ValueError, match=r"cannot be a TAK client's host|is not 1-65535"):
            tak_package.Connection(host, port)
    connection = tak_package.Connection("tak.example.org", 8443)
    assert connection.connect_string == "tak.example.org:8443:ssl"


@dataclass
class Package:
    entries: dict[str, bytes]
    preferences: dict[str, dict[str, str]]

    def file_at(self, location: str) -> bytes:
        """The zip entry a preference's cert/NAME.p12 names (clients copy certs/ there)."""
        assert location.startswith("cert/")
        return self.entries["certs/" + location.removeprefix("cert/")]


def read_package(blob: bytes) -> Package:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    manifest = ElementTree.fromstring(entries["MANIFEST/manifest.xml"])
    assert manifest.tag == "MissionPackageManifest" and manifest.get("version") == "2"
    parameters = {p.get("name"): p.get("value") for p in manifest.iter("Parameter")}
    assert parameters["onReceiveDelete"] == "true" and parameters["uid"]
    listed = [str(content.get("zipEntry")) for content in manifest.iter("Content")]
    # The manifest lists every payload entry, and every entry it lists is there.
    assert sorted(listed) == sorted(name for name in entries if not name.startswith("MANIFEST"))
    (pref,) = [name for name in entries if name.endswith(".pref")]
    preferences = {
        str(group.get("name")): {str(e.get("key")): e.text or "" for e in group.iter("entry")}
        for group in ElementTree.fromstring(entries[pref]).iter("preference")
    }
    return Package(entries, preferences)


# -- TLS and who a certificate is ------------------------------------------------------


@pytest.fixture
def certs_dir(tmp_path: Path, ca: certs.Issued, server: certs.Issued) -> Path:
    directory = tmp_path / "certs"
    directory.mkdir()
    (directory / tls.CA_FILE).write_bytes(certs.certificate_pem(ca.certificate))
    (directory / tls.SERVER_CERT_FILE).write_bytes(certs.certificate_pem(server.certificate))
    (directory / tls.SERVER_KEY_FILE).write_bytes(certs.key_pem(server.key))
    return directory


def client_files(directory: Path, issued: certs.Issued, name: str) -> tuple[Path, Path]:
    cert_pem, key_pem = directory / f"{name}.pem", directory / f"{name}.key"
    cert_pem.write_bytes(certs.certificate_pem(issued.certificate))
    key_pem.write_bytes(certs.key_pem(issued.key))
    return cert_pem, key_pem


@dataclass
class Outcome:
    read: bytes | None  # what the client read; None if its connection failed
    accepted: list[bytes]  # the client certificates (DER) the server took connections from


async def connect(server_context: ssl.SSLContext, client_context: ssl.SSLContext) -> Outcome:
    """One TLS connection over loopback; the server says "ok" to whoever it accepts."""
    accepted: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer.get_extra_info("ssl_object").getpeercert(binary_form=True))
        writer.write(b"ok")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    listener = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
    port = listener.sockets[0].getsockname()[1]
    try:
        return Outcome(await _client_read(port, client_context), accepted)
    finally:
        listener.close()
        await listener.wait_closed()


async def _client_read(port: int, context: ssl.SSLContext) -> bytes | None:
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=context, server_hostname="localhost"
        )
    except (ssl.SSLError, ConnectionError):
        return None
    try:
        # With TLS 1.3 a refused client certificate shows only once the client reads.
        return await asyncio.wait_for(reader.read(), 10)
    except (ssl.SSLError, ConnectionError):
        return None
    finally:
        writer.close()
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            await writer.wait_closed()


def test_tls_accepts_an_issued_client_certificate(
    certs_dir: Path, phone: certs.Issued, tmp_path: Path
) -> None:
    cert_pem, key_pem = client_files(tmp_path, phone, "phone")
    client = tls.client_context(certs_dir / tls.CA_FILE, cert_pem, key_pem)
    server = tls.server_context(certs_dir)
    assert server.verify_mode == ssl.CERT_REQUIRED
    assert server.minimum_version == ssl.TLSVersion.TLSv1_2
    outcome = asyncio.run(connect(server, client))
    assert outcome == Outcome(b"ok", [der(phone.certificate)])


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_refuses_a_certificate_from_another_ca(
    certs_dir: Path, other_ca: certs.Issued, tmp_path: Path, version: ssl.TLSVersion
) -> None:
    stranger = certs.issue_client_cert(other_ca, "mallory", "alice", NOW, 30)
    cert_pem, key_pem = client_files(tmp_path, stranger, "mallory")
    client = tls.client_context(certs_dir / tls.CA_FILE, cert_pem, key_pem)
    client.maximum_version = version
    outcome = asyncio.run(connect(tls.server_context(certs_dir), client))
    assert outcome.read in (None, b"") and outcome.accepted == []


def test_tls_refuses_a_client_without_a_certificate(certs_dir: Path) -> None:
    client = ssl.create_default_context(cafile=certs_dir / tls.CA_FILE)
    outcome = asyncio.run(connect(tls.server_context(certs_dir), client))
    assert outcome.read in (None, b"") and outcome.accepted == []


def test_the_server_creates_its_certificates_once_when_there_are_none(tmp_path: Path) -> None:
    context = tls.ensure_server_context(tmp_path, hosts=("0.0.0.0", "tak.example.org"))
    assert context.verify_mode == ssl.CERT_REQUIRED
    directory = tls.certs_dir(tmp_path)
    assert stat.S_IMODE((directory / tls.CA_KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE((directory / tls.SERVER_KEY_FILE).stat().st_mode) == 0o600
    ca_pem = (directory / tls.CA_FILE).read_bytes()
    server = x509.load_pem_x509_certificate((directory / tls.SERVER_CERT_FILE).read_bytes())
    # Not the bind-everything address: no client connects to that.
    assert certs.host_names(server) == ["tak.example.org", "127.0.0.1", "localhost"]
    tls.ensure_server_context(tmp_path, hosts=("elsewhere.example",))
    assert (directory / tls.CA_FILE).read_bytes() == ca_pem


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SecurityStore]:
    opened = SqliteSecurityStore(security_store_path(tmp_path))
    asyncio.run(opened.open())
    yield opened
    asyncio.run(opened.close())


def record_of(issued: certs.Issued, name: str, principal: str) -> CertificateRecord:
    return CertificateRecord(
        name=name,
        principal=principal,
        serial=str(issued.certificate.serial_number),
        fingerprint=certs.certificate_fingerprint(issued.certificate),
        issued_at=NOW,
        expires_at=issued.certificate.not_valid_after_utc,
    )


def test_a_certificate_stands_for_its_principal_until_revoked(
    store: SecurityStore, phone: certs.Issued
) -> None:
    alice = Principal(name="alice")
    encoded = der(phone.certificate)

    async def scenario() -> None:
        await store.add_principal(alice)
        assert await tls.principal_of_certificate(store, encoded, NOW) is None
        await store.add_certificate(record_of(phone, "alice-phone", "alice"))
        assert await tls.principal_of_certificate(store, encoded, NOW) == alice
        expiry = phone.certificate.not_valid_after_utc
        assert await tls.principal_of_certificate(store, encoded, expiry) is None
        await store.revoke_certificate("alice-phone", NOW)
        assert await tls.principal_of_certificate(store, encoded, NOW) is None

    asyncio.run(scenario())


def test_a_disabled_principal_has_no_certificate_that_counts(
    store: SecurityStore, phone: certs.Issued
) -> None:
    encoded = der(phone.certificate)

    async def scenario() -> None:
        await store.add_principal(Principal(name="alice"))
        await store.add_certificate(record_of(phone, "alice-phone", "alice"))
        await store.set_disabled("alice", True)
        assert await tls.principal_of_certificate(store, encoded, NOW) is None
        await store.set_disabled("alice", False)
        assert await tls.principal_of_certificate(store, encoded, NOW) is not None

    asyncio.run(scenario())
