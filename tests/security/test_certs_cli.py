"""``tessera certs`` as an administrator uses it."""

from __future__ import annotations

import asyncio
import json
import stat
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from tessera.cli import main
from tessera.security import certs, tak_package, tls
from tessera.security.base import CertificateRecord
from tessera.security.sqlite import SqliteSecurityStore, security_store_path

KEY_MARKERS = ("PRIVATE KEY", "BEGIN CERTIFICATE")


class Cli:
    """Runs ``tessera`` in-process, as an administrator named ``tester``."""

    def __init__(self, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data = data
        self.capsys = capsys

    @property
    def certs(self) -> Path:
        return tls.certs_dir(self.data)

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--data", str(self.data)])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *argv: str) -> str:
        code, out, err = self(*argv)
        assert code == 0, err
        return out

    def refused(self, *argv: str) -> str:
        code, out, err = self(*argv)
        assert code == 2 and out == "", (out, err)
        assert err.startswith("tessera: ") and "Traceback" not in err
        return err


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setattr("getpass.getuser", lambda: "tester")
    return Cli(tmp_path / "data", capsys)


@pytest.fixture
def ready(cli: Cli) -> Cli:
    """A CA, and a principal alice to issue certificates for."""
    cli.ok("users", "add", "alice", "--roles", "viewer,reporter")
    cli.ok("certs", "init")
    return cli


def stored_certificates(data: Path) -> list[CertificateRecord]:
    async def read() -> list[CertificateRecord]:
        store = SqliteSecurityStore(security_store_path(data))
        await store.open()
        try:
            return await store.certificates()
        finally:
            await store.close()

    return asyncio.run(read())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def audit_events(cli: Cli) -> list[dict[str, Any]]:
    return [json.loads(line) for line in cli.ok("audit", "--json").splitlines()]


def issue(cli: Cli, *argv: str) -> tuple[str, str]:
    """``tessera certs client ...``: the password (all of stdout) and stderr."""
    code, out, err = cli("certs", "client", *argv)
    assert code == 0, err
    assert out.endswith("\n") and out.count("\n") == 1
    return out.strip(), err


def pref_entries(package: Path) -> dict[str, str]:
    with zipfile.ZipFile(package) as archive:
        (pref,) = [name for name in archive.namelist() if name.endswith(".pref")]
        root = ElementTree.fromstring(archive.read(pref))
    return {str(entry.get("key")): entry.text or "" for entry in root.iter("entry")}


# -- init ------------------------------------------------------------------------------


def test_init_writes_the_ca_and_the_server_certificate(cli: Cli) -> None:
    out = cli.ok("certs", "init")
    directory = cli.certs
    for name in (tls.CA_KEY_FILE, tls.SERVER_KEY_FILE):
        assert mode(directory / name) == 0o600, name
    assert mode(directory) == 0o700
    ca = x509.load_pem_x509_certificate((directory / tls.CA_FILE).read_bytes())
    server = x509.load_pem_x509_certificate((directory / tls.SERVER_CERT_FILE).read_bytes())
    server.verify_directly_issued_by(ca)
    assert certs.host_names(server) == ["127.0.0.1", "localhost"]
    crl = x509.load_pem_x509_crl((directory / tls.CRL_FILE).read_bytes())
    ca_key = ca.public_key()
    assert isinstance(ca_key, rsa.RSAPublicKey)
    assert crl.is_signature_valid(ca_key) and len(crl) == 0
    assert str(directory / tls.CA_FILE) in out
    assert not any(marker in out for marker in KEY_MARKERS)
    # What the server will load.
    assert tls.server_context(directory).verify_mode.name == "CERT_REQUIRED"
    (event,) = audit_events(cli)
    assert (event["action"], event["principal"], event["address"]) == (
        "certs.init",
        "cli:tester",
        "local",
    )
    assert event["detail"]["hosts"] == ["127.0.0.1", "localhost"]


def test_init_for_given_hosts(cli: Cli) -> None:
    cli.ok("certs", "init", "--host", "tak.example.org", "--host", "10.0.0.5", "--days", "30")
    server = x509.load_pem_x509_certificate((cli.certs / tls.SERVER_CERT_FILE).read_bytes())
    assert certs.host_names(server) == ["tak.example.org", "10.0.0.5"]
    lifetime = server.not_valid_after_utc - server.not_valid_before_utc
    assert lifetime.days in (30, 29)


def test_init_refuses_to_replace_a_ca_unless_forced(ready: Cli) -> None:
    issue(ready, "alice-phone", "--principal", "alice")
    before = (ready.certs / tls.CA_FILE).read_bytes()
    assert "already exists" in ready.refused("certs", "init")
    assert (ready.certs / tls.CA_FILE).read_bytes() == before
    out = ready.ok("certs", "init", "--force")
    assert (ready.certs / tls.CA_FILE).read_bytes() != before
    assert mode(ready.certs / tls.CA_KEY_FILE) == 0o600
    # What the old CA issued no longer connects, and the store says so.
    assert "alice-phone" in out
    (record,) = stored_certificates(ready.data)
    assert record.revoked_at is not None


# -- client ----------------------------------------------------------------------------


def test_client_issues_a_certificate_and_a_data_package(ready: Cli) -> None:
    password, err = issue(ready, "alice-phone", "--principal", "alice")
    clients = ready.certs / "clients"
    files = {suffix: clients / f"alice-phone.{suffix}" for suffix in ("pem", "key", "p12", "zip")}
    assert all(path.is_file() for path in files.values())
    for suffix in ("key", "p12", "zip"):
        assert mode(files[suffix]) == 0o600, suffix
    assert str(files["zip"]) in err and "127.0.0.1:8089:ssl" in err
    # Nothing secret on the terminal but the password, once.
    assert password not in err
    assert not any(marker in err for marker in KEY_MARKERS)

    certificate = x509.load_pem_x509_certificate(files["pem"].read_bytes())
    loaded = pkcs12.load_pkcs12(files["p12"].read_bytes(), password.encode())
    assert loaded.cert is not None and loaded.cert.certificate == certificate
    (record,) = stored_certificates(ready.data)
    assert (record.name, record.principal) == ("alice-phone", "alice")
    assert record.fingerprint == certs.certificate_fingerprint(certificate)
    assert record.serial == str(certificate.serial_number) and record.revoked_at is None


def test_the_data_package_connects_with_the_printed_password(ready: Cli) -> None:
    password, _ = issue(ready, "alice-phone", "--principal", "alice")
    package = ready.certs / "clients" / "alice-phone.zip"
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        stores = {name: archive.read(name) for name in names if name.endswith(".p12")}
        manifest = ElementTree.fromstring(archive.read("MANIFEST/manifest.xml"))
    assert "MANIFEST/manifest.xml" in names and len(stores) == 2
    listed = {content.get("zipEntry") for content in manifest.iter("Content")}
    assert listed == {name for name in names if name.startswith("certs/")}
    entries = pref_entries(package)
    assert entries["connectString0"] == "127.0.0.1:8089:ssl"
    # The trust store's password is public (the CA is); the client's is nowhere in it.
    assert entries["caPassword"] == tak_package.TRUSTSTORE_PASSWORD != password
    assert "clientPassword" not in entries
    ca = x509.load_pem_x509_certificate((ready.certs / tls.CA_FILE).read_bytes())
    trust_entry = "certs/" + entries["caLocation"].removeprefix("cert/")
    client_entry = "certs/" + entries["certificateLocation"].removeprefix("cert/")
    truststore = pkcs12.load_pkcs12(stores[trust_entry], entries["caPassword"].encode())
    assert [c.certificate for c in truststore.additional_certs] == [ca]
    # The operator opens the client's .p12 with the password printed, and only with it.
    client = pkcs12.load_pkcs12(stores[client_entry], password.encode())
    assert client.key is not None and client.cert is not None
    with pytest.raises(ValueError, match=r"(?i)password"):
        pkcs12.load_pkcs12(stores[client_entry], tak_package.TRUSTSTORE_PASSWORD.encode())


def test_no_file_of_the_data_package_holds_the_password(ready: Cli) -> None:
    password, _ = issue(ready, "alice-phone", "--principal", "alice")
    package = ready.certs / "clients" / "alice-phone.zip"
    secret = password.encode()
    assert secret not in package.read_bytes()
    with zipfile.ZipFile(package) as archive:
        for name in archive.namelist():
            member = archive.read(name)
            for form in (secret, password.encode("utf-16-le"), password.encode("utf-16-be")):
                assert form not in member, name


def test_the_password_goes_to_a_file_when_asked(ready: Cli, tmp_path: Path) -> None:
    secret_file = tmp_path / "handover" / "alice-phone.password"
    code, out, err = ready(
        "certs",
        "client",
        "alice-phone",
        "--principal",
        "alice",
        "--password-file",
        str(secret_file),
    )
    assert code == 0, err
    password = secret_file.read_text().strip()
    assert out == "" and password and password not in err and str(secret_file) in err
    assert mode(secret_file) == 0o600
    p12 = (ready.certs / "clients" / "alice-phone.p12").read_bytes()
    assert pkcs12.load_pkcs12(p12, password.encode()).key is not None
    with zipfile.ZipFile(ready.certs / "clients" / "alice-phone.zip") as archive:
        assert not any(password.encode() in archive.read(n) for n in archive.namelist())
    # An existing file is never overwritten, and nothing is issued then.
    refused = ready.refused(
        "certs", "client", "bob-phone", "--principal", "alice", "--password-file", str(secret_file)
    )
    assert "already exists" in refused
    assert [r.name for r in stored_certificates(ready.data)] == ["alice-phone"]
    assert secret_file.read_text().strip() == password


def test_the_help_says_where_the_password_goes(
    cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["certs", "client", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--password-file" in text and "in no file of the package" in text


def test_client_options_host_port_out_and_days(ready: Cli, tmp_path: Path) -> None:
    out = tmp_path / "packages" / "bob.zip"
    _, err = issue(
        ready,
        *("alice-tablet", "--principal", "alice", "--host", "tak.example.org"),
        *("--port", "8443", "--out", str(out), "--days", "30"),
    )
    assert pref_entries(out)["connectString0"] == "tak.example.org:8443:ssl"
    assert mode(out) == 0o600 and not (ready.certs / "clients" / "alice-tablet.zip").exists()
    assert "warning: the server certificate is not for tak.example.org" in err
    (record,) = stored_certificates(ready.data)
    assert (record.expires_at - record.issued_at).days in (29, 30)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nobody-phone", "--principal", "nobody"], "no principal named 'nobody'"),
        (["Alice Phone", "--principal", "alice"], "certificate name"),
        (["alice-phone", "--principal", "alice", "--host", "::1"], "cannot be a TAK client's"),
        (["alice-phone", "--principal", "alice", "--days", "5000"], "outlive its CA"),
    ],
)
def test_client_refuses_bad_input(ready: Cli, argv: list[str], message: str) -> None:
    assert message in ready.refused("certs", "client", *argv)
    assert stored_certificates(ready.data) == []
    assert not (ready.certs / "clients").exists()


def test_client_refuses_a_disabled_principal_until_enabled(ready: Cli) -> None:
    ready.ok("users", "disable", "alice")
    assert "alice is disabled" in ready.refused("certs", "client", "phone", "--principal", "alice")
    assert stored_certificates(ready.data) == []
    ready.ok("users", "disable", "alice", "--enable")
    issue(ready, "phone", "--principal", "alice")


def test_client_refuses_a_taken_name_and_overwrites_nothing(ready: Cli) -> None:
    issue(ready, "phone", "--principal", "alice")
    key = (ready.certs / "clients" / "phone.key").read_bytes()
    assert "already exists" in ready.refused("certs", "client", "phone", "--principal", "alice")
    (ready.certs / "clients" / "phone.zip").unlink()
    assert "already exists" in ready.refused("certs", "client", "phone", "--principal", "alice")
    assert (ready.certs / "clients" / "phone.key").read_bytes() == key
    assert len(stored_certificates(ready.data)) == 1


def test_client_needs_a_ca(cli: Cli) -> None:
    cli.ok("users", "add", "alice")
    assert "run `tessera certs init` first" in cli.refused(
        "certs", "client", "phone", "--principal", "alice"
    )


# -- revoke, list, audit ---------------------------------------------------------------


def test_revoke_marks_the_store_and_rewrites_the_crl(ready: Cli) -> None:
    issue(ready, "phone", "--principal", "alice")
    issue(ready, "tablet", "--principal", "alice", "--uid", "ANDROID-tablet")
    assert "revoked certificate phone of alice" in ready.ok("certs", "revoke", "phone")
    assert "already revoked" in ready.ok("certs", "revoke", "phone")
    assert "no certificate named 'laptop'" in ready.refused("certs", "revoke", "laptop")
    phone, tablet = stored_certificates(ready.data)
    assert phone.revoked_at is not None and tablet.revoked_at is None
    crl = x509.load_pem_x509_crl((ready.certs / tls.CRL_FILE).read_bytes())
    assert [entry.serial_number for entry in crl] == [int(phone.serial)]
    table = ready.ok("certs", "list").splitlines()
    assert table[0].split() == [
        "NAME",
        "PRINCIPAL",
        "STATUS",
        "EXPIRES",
        "FINGERPRINT",
        "TAK",
        "UID",
    ]
    assert [row.split()[:3] + row.split()[-1:] for row in table[1:]] == [
        ["phone", "alice", "revoked", "-"],
        ["tablet", "alice", "valid", "ANDROID-tablet"],
    ]
    rows = [json.loads(line) for line in ready.ok("certs", "list", "--json").splitlines()]
    assert [row["fingerprint"] for row in rows] == [phone.fingerprint, tablet.fingerprint]
    assert [row["uid"] for row in rows] == [None, "ANDROID-tablet"]
    # A uid is bound to one certificate only.
    assert "bound to another certificate" in ready.refused(
        "certs", "client", "laptop", "--principal", "alice", "--uid", "ANDROID-tablet"
    )
    assert "--uid" in ready.refused(
        "certs", "client", "laptop", "--principal", "alice", "--uid", "not a uid"
    )


def test_every_change_is_in_the_audit_trail(ready: Cli) -> None:
    password, _ = issue(ready, "phone", "--principal", "alice")
    ready.ok("certs", "revoke", "phone")
    ready.ok("certs", "list")
    events = audit_events(ready)
    assert [(e["action"], e["target"]) for e in events] == [
        ("principal.add", "alice"),
        ("certs.init", events[1]["target"]),
        ("certificate.issue", "phone"),
        ("certificate.revoke", "phone"),
    ]
    assert events[1]["target"].startswith("CN=Tessera CA ")
    assert {(e["principal"], e["address"], e["outcome"]) for e in events} == {
        ("cli:tester", "local", "ok")
    }
    (record,) = stored_certificates(ready.data)
    assert events[2]["detail"]["fingerprint"] == record.fingerprint
    assert events[2]["detail"]["principal"] == "alice"
    trail = ready.ok("audit")
    assert password not in trail and not any(marker in trail for marker in KEY_MARKERS)


def test_a_missing_data_folder_is_an_error_except_to_init(cli: Cli) -> None:
    for argv in (["certs", "list"], ["certs", "revoke", "x"], ["certs", "client", "x"]):
        extra = ["--principal", "alice"] if argv[1] == "client" else []
        assert f"no data folder at {cli.data}" in cli.refused(*argv, *extra)
    assert not cli.data.exists()
    cli.ok("certs", "init")
    assert (cli.certs / tls.CA_FILE).is_file()


def test_no_private_key_leaves_the_data_folder_in_output(ready: Cli) -> None:
    password, err = issue(ready, "phone", "--principal", "alice")
    listing = ready.ok("certs", "list") + ready.ok("certs", "list", "--json")
    everything = err + listing + ready.ok("audit", "--json")
    for key_file in (ready.certs / tls.CA_KEY_FILE, ready.certs / "clients" / "phone.key"):
        body = key_file.read_bytes().decode().splitlines()[1]
        assert body not in everything
    assert password not in everything and "PRIVATE" not in everything
