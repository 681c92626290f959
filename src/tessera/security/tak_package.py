"""The data packages that carry a client certificate to a TAK client: the manifest
package ATAK and WinTAK import, and the flat one iTAK imports. Pure work in memory."""

from __future__ import annotations

import io
import time
import uuid
import zipfile
from dataclasses import dataclass
from html import escape
from typing import Final

from cryptography import x509

from tessera.security.certs import Issued, certificate_fingerprint, pkcs12, truststore

# The layout TAK Server's documentation describes and its tooling produces: a manifest,
# and under certs/ a preference file with the connection plus the trust store and the
# client's PKCS#12. A client imports it and copies the .p12 files to its cert/ folder,
# which is what the preference file's relative "cert/..." paths name (ATAK, WinTAK and
# iTAK all resolve those; ATAK's absolute /storage/... paths would break the others).
#
# The client's password is not in the package, unlike TAK Server's own: a package that
# goes astray (mail, a shared drive, a lost phone's downloads) then gives nobody the key.
# The operator hands the password over apart, and the device's user types it in: ATAK,
# finding no clientPassword, stores its default one for the certificate, so the
# connection comes up only once the real one is entered in its settings.

PACKAGE_PREFERENCES: Final = "certs/tessera.pref"
# The trust store holds the CA's certificate alone, which is public: its password guards
# nothing, so it is TAK's customary default (the one ATAK also tries when a package names
# none), and the package names it, so every client imports the trust store unasked.
TRUSTSTORE_PASSWORD: Final = "atakatak"  # noqa: S105 - public by design (above)


@dataclass(frozen=True)
class Connection:
    """Where a TAK client connects: the CoT stream over TLS."""

    host: str
    port: int

    def __post_init__(self) -> None:
        # A connect string is HOST:PORT:PROTOCOL, split at colons: no room for IPv6.
        if not self.host or ":" in self.host or any(c.isspace() for c in self.host):
            raise ValueError(f"{self.host!r} cannot be a TAK client's host (a name or IPv4)")
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} is not 1-65535")

    @property
    def connect_string(self) -> str:
        return f"{self.host}:{self.port}:ssl"


def data_package(
    package_name: str,
    connection: Connection,
    ca: x509.Certificate,
    client: Issued,
    name: str,
    password: str,
) -> bytes:
    """A zip an ATAK, WinTAK or iTAK client imports to connect with this certificate.

    The client's PKCS#12 opens with ``password``, which is in no file of the package (see
    above); the trust store with ``TRUSTSTORE_PASSWORD``, which is.
    """
    trust_file = _truststore_file(ca)
    client_file = f"{name}.p12"
    entries = {
        PACKAGE_PREFERENCES: _preferences(connection, f"cert/{trust_file}", f"cert/{client_file}"),
        f"certs/{trust_file}": truststore(ca, TRUSTSTORE_PASSWORD, ca.subject.rfc4514_string()),
        f"certs/{client_file}": pkcs12(client, ca, password, name),
    }
    manifest = _manifest(str(uuid.uuid4()), package_name, list(entries))
    return _zip({"MANIFEST/manifest.xml": manifest, **entries})


# iTAK imports only a flat zip: no MANIFEST/ folder and no subfolders, the preference
# file and both .p12 files side by side at the top, the preference file naming them by
# their bare file names (OpenTAKServer's and TAK Server's iTAK packages are laid out so).
ITAK_PREFERENCES: Final = "config.pref"


def itak_package(
    connection: Connection, ca: x509.Certificate, client: Issued, name: str, password: str
) -> bytes:
    """The flat zip iTAK imports to connect with this certificate; passwords as for
    ``data_package`` (the client's is in no file of it)."""
    trust_file = _truststore_file(ca)
    client_file = f"{name}.p12"
    return _zip(
        {
            ITAK_PREFERENCES: _preferences(connection, trust_file, client_file),
            trust_file: truststore(ca, TRUSTSTORE_PASSWORD, ca.subject.rfc4514_string()),
            client_file: pkcs12(client, ca, password, name),
        }
    )


def _truststore_file(ca: x509.Certificate) -> str:
    return f"truststore-{certificate_fingerprint(ca)[:12]}.p12"


def _entry(key: str, kind: str, value: str) -> str:
    return f'    <entry key="{key}" class="class java.lang.{kind}">{escape(value)}</entry>'


def _preferences(connection: Connection, ca_location: str, client_location: str) -> bytes:
    lines = [
        "<?xml version='1.0' standalone='yes'?>",
        "<preferences>",
        '  <preference version="1" name="cot_streams">',
        _entry("count", "Integer", "1"),
        _entry("description0", "String", f"Tessera {connection.host}"),
        _entry("enabled0", "Boolean", "true"),
        _entry("connectString0", "String", connection.connect_string),
        "  </preference>",
        '  <preference version="1" name="com.atakmap.app_preferences">',
        _entry("displayServerConnectionWidget", "Boolean", "true"),
        _entry("caLocation", "String", ca_location),
        _entry("caPassword", "String", TRUSTSTORE_PASSWORD),
        _entry("certificateLocation", "String", client_location),
        "  </preference>",
        "</preferences>",
    ]
    return ("\n".join(lines) + "\n").encode()


def _manifest(uid: str, package_name: str, zip_entries: list[str]) -> bytes:
    contents = [f'    <Content ignore="false" zipEntry="{escape(e)}"/>' for e in zip_entries]
    lines = [
        '<MissionPackageManifest version="2">',
        "  <Configuration>",
        f'    <Parameter name="uid" value="{escape(uid)}"/>',
        f'    <Parameter name="name" value="{escape(package_name)}"/>',
        # The package holds a private key: the client deletes it once imported.
        '    <Parameter name="onReceiveDelete" value="true"/>',
        "  </Configuration>",
        "  <Contents>",
        *contents,
        "  </Contents>",
        "</MissionPackageManifest>",
    ]
    return ("\n".join(lines) + "\n").encode()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry_name, data in entries.items():
            info = zipfile.ZipInfo(entry_name, date_time=time.localtime()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16  # owner-only once unpacked
            archive.writestr(info, data)
    return buffer.getvalue()
