"""``tessera certs client --itak`` (the flat package iTAK imports), ``certs enroll-token``
(one-time enrollment tokens) and ``certs qr`` (the codes ATAK and iTAK scan)."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from tessera.cli import main
from tessera.security import enrollment, tak_package
from tessera.security.base import EnrollmentRecord
from tessera.security.sqlite import SqliteSecurityStore, security_store_path
from tests.security.test_certs_cli import Cli, audit_events, issue, mode, pref_entries

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def ready(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    """A CA, and a principal alice (as ``test_certs_cli``'s fixture of the same name)."""
    monkeypatch.setattr("getpass.getuser", lambda: "tester")
    made = Cli(tmp_path / "data", capsys)
    made.ok("users", "add", "alice", "--roles", "viewer,reporter")
    made.ok("certs", "init")
    return made


def stored_enrollment(data: Path, name: str) -> EnrollmentRecord | None:
    async def read() -> EnrollmentRecord | None:
        store = SqliteSecurityStore(security_store_path(data))
        await store.open()
        try:
            return await store.enrollment(name)
        finally:
            await store.close()

    return asyncio.run(read())


# -- certs client --itak -----------------------------------------------------------------


def test_the_itak_package_is_flat_and_names_its_files(ready: Cli) -> None:
    password, _ = issue(ready, "alice-ipad", "--principal", "alice", "--itak")
    package = ready.certs / "clients" / "alice-ipad.zip"
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        stores = {name: archive.read(name) for name in names if name.endswith(".p12")}
    # No MANIFEST/ and no folder at all: the preference file and both .p12 side by side.
    assert all("/" not in name for name in names), names
    assert "config.pref" in names and len(names) == 3
    entries = pref_entries(package)
    assert entries["connectString0"] == "127.0.0.1:8089:ssl"
    assert set(stores) == {entries["caLocation"], entries["certificateLocation"]}
    assert entries["certificateLocation"] == "alice-ipad.p12"
    truststore = pkcs12.load_pkcs12(stores[entries["caLocation"]], entries["caPassword"].encode())
    assert entries["caPassword"] == tak_package.TRUSTSTORE_PASSWORD
    assert len(truststore.additional_certs) == 1
    client = pkcs12.load_pkcs12(stores["alice-ipad.p12"], password.encode())
    assert client.key is not None and client.cert is not None
    assert password.encode() not in package.read_bytes()


# -- certs enroll-token ----------------------------------------------------------------


def test_an_enrollment_token_is_shown_once_and_kept_as_its_hash(ready: Cli) -> None:
    out = ready.ok("certs", "enroll-token", "alice-phone", "--principal", "alice", "--ttl", "2h")
    token = out.strip()
    assert out.count("\n") == 1 and len(token) >= 24
    record = stored_enrollment(ready.data, "alice-phone")
    assert record is not None and record.principal == "alice" and record.used_at is None
    assert record.secret_hash == enrollment.hash_secret(token)
    assert record.expires_at - record.created_at == enrollment.DEFAULT_TTL / 12
    assert token not in (ready.data / "security.sqlite3").read_bytes().decode("latin-1")
    (event,) = [e for e in audit_events(ready) if e["action"] == "enrollment.token"]
    assert event["target"] == "alice-phone" and token not in str(event)


def test_the_token_goes_to_a_file_when_asked(ready: Cli, tmp_path: Path) -> None:
    token_file = tmp_path / "phone.token"
    out = ready.ok("certs", "enroll-token", "alice-phone", "--principal", "alice",
                   "--token-file", str(token_file))  # fmt: skip
    assert out == "" and mode(token_file) == 0o600
    record = stored_enrollment(ready.data, "alice-phone")
    assert record is not None
    assert record.secret_hash == enrollment.hash_secret(token_file.read_text().strip())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["Bad Name", "--principal", "alice"], "certificate name"),
        (["phone", "--principal", "nobody"], "nobody"),
        (["alice-phone", "--principal", "alice"], "exists"),
    ],
)
def test_enroll_token_refuses_bad_input(ready: Cli, argv: list[str], message: str) -> None:
    issue(ready, "alice-phone", "--principal", "alice")
    assert message in ready.refused("certs", "enroll-token", *argv)


def test_enroll_token_refuses_a_bad_ttl(ready: Cli) -> None:
    with pytest.raises(SystemExit) as exited:
        ready("certs", "enroll-token", "phone", "--principal", "alice", "--ttl", "0")
    assert exited.value.code == 2
    assert "duration" in ready.capsys.readouterr().err


# -- certs qr --------------------------------------------------------------------------


def qr(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, str]:
    assert main(["certs", "qr", *argv]) == 0
    lines = capsys.readouterr().out.splitlines()
    return dict(line.split(" ", 1) for line in lines)


def test_qr_payloads_for_atak_enrollment_and_itak_quick_connect(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret+/token\n")
    payloads = qr(capsys, "--host", "tak.example.org", "--name", "alice-phone",
                  "--token-file", str(token_file), "--description", "Exercise COP")  # fmt: skip
    assert payloads["itak"] == "Exercise COP,tak.example.org,8089,ssl"
    link = urlsplit(payloads["atak"])
    assert (link.scheme, link.netloc, link.path) == ("tak", "com.atakmap.app", "/enroll")
    assert parse_qs(link.query) == {
        "host": ["tak.example.org"],
        "username": ["alice-phone"],
        "token": ["s3cret+/token"],
    }
    other = qr(capsys, "--host", "10.0.0.5", "--port", "8443", "--name", "a", "--token", "t")
    assert other["itak"] == "Tessera,10.0.0.5,8443,ssl"
    assert parse_qs(urlsplit(other["atak"]).query)["host"] == ["10.0.0.5:8443"]
    assert set(qr(capsys, "--host", "10.0.0.5")) == {"itak"}


def test_qr_writes_png_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    atak, itak = tmp_path / "atak.png", tmp_path / "itak.png"
    qr(capsys, "--host", "10.0.0.5", "--name", "a", "--token", "t", "--png", str(atak),
       "--itak-png", str(itak))  # fmt: skip
    for path in (atak, itak):
        assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert mode(atak) == 0o600
    assert atak.read_bytes() != itak.read_bytes()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--host", "a,b"], "no commas"),
        (["--host", "h", "--description", "x,y"], "no commas"),
        (["--host", "h", "--name", "a"], "go together"),
        (["--host", "h", "--png", "x.png"], "needs --name"),
        (["--host", "fe80::1"], "IPv4"),
    ],
)
def test_qr_refuses_bad_input(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["certs", "qr", *argv]) == 2
    assert message in capsys.readouterr().err
