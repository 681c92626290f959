"""Certificates for TAK clients: a local CA, the server's certificate, client certificates,
their PEM and PKCS#12 forms, fingerprints and the CRL (``tak_package`` puts them in the
zips TAK clients import). Pure work in memory: no files, no sockets.

Keys are RSA 2048 with SHA-256 signatures. ATAK accepts EC keys too, but RSA 2048 is what
TAK Server's own scripts issue, so every TAK client (old ATAK and WinTAK releases, iTAK,
pytak over Python's ssl) has been tested against it; EC P-256 support is patchier on old
Android and Windows TLS stacks.

PKCS#12 files use the legacy algorithms (3DES, SHA-1 MAC): the OpenSSL 3 default (AES-256
with PBKDF2) is refused by older Android key stores and by Windows before 10 1709, and TAK
Server's tooling exports with ``-legacy`` for the same reason. The password, not the
cipher, is what protects the file.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12 as pkcs12_format
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEY_BITS: Final = 2048
PUBLIC_EXPONENT: Final = 65537
PKCS12_KDF_ROUNDS: Final = 50_000
# Issued a little in the past, so a client whose clock is slightly behind accepts it.
CLOCK_SKEW: Final = timedelta(minutes=5)
# The keys a client may hold: RSA, or EC (iTAK's and newer ATAK's requests may carry either).
CertificatePublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True)
class Revoked:
    serial: int
    revoked_at: datetime


def create_ca(common_name: str, now: datetime, days: int) -> Issued:
    """A self-signed CA that signs certificates and CRLs, and nothing else."""
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        _validity(x509.CertificateBuilder(), now, now + timedelta(days=days))
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    return Issued(key, builder.sign(key, hashes.SHA256()))


def issue_server_cert(ca: Issued, hosts: Sequence[str], now: datetime, days: int) -> Issued:
    """A TLS server certificate for these host names and IP addresses (the first is its
    common name)."""
    if not hosts:
        raise ValueError("a server certificate needs at least one host name or address")
    names = [_general_name(host) for host in hosts]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    extra = [
        (x509.SubjectAlternativeName(names), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
    ]
    return _issue(ca, subject, now, days, extra)


def issue_client_cert(ca: Issued, name: str, principal: str, now: datetime, days: int) -> Issued:
    """A TLS client certificate: common name ``name``, user id ``principal``. The server
    maps it to its principal through the store (by fingerprint), not through these names."""
    key = _new_key()
    return Issued(key, sign_client_key(ca, key.public_key(), name, principal, now, days))


def sign_client_key(
    ca: Issued,
    public_key: CertificatePublicKey,
    name: str,
    principal: str,
    now: datetime,
    days: int,
) -> x509.Certificate:
    """A client certificate as ``issue_client_cert`` makes, for a key the client holds
    (the one of its signing request): the names are ours, whatever the request asked."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.USER_ID, principal),
        ]
    )
    extra = [(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)]
    return _sign(ca, subject, public_key, now, days, extra)


def _issue(
    ca: Issued,
    subject: x509.Name,
    now: datetime,
    days: int,
    extra: Sequence[tuple[x509.ExtensionType, bool]],
) -> Issued:
    key = _new_key()
    return Issued(key, _sign(ca, subject, key.public_key(), now, days, extra))


def _sign(
    ca: Issued,
    subject: x509.Name,
    public_key: CertificatePublicKey,
    now: datetime,
    days: int,
    extra: Sequence[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    not_after = now + timedelta(days=days)
    if not_after > ca.certificate.not_valid_after_utc:
        raise ValueError(
            f"a certificate valid for {days} days would outlive its CA, which expires "
            f"{ca.certificate.not_valid_after_utc:%Y-%m-%d}"
        )
    ca_key_id = x509.SubjectKeyIdentifier.from_public_key(ca.key.public_key())
    builder = (
        _validity(x509.CertificateBuilder(), now, not_after)
        .subject_name(subject)
        .issuer_name(ca.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id), False
        )
    )
    for extension, critical in extra:
        builder = builder.add_extension(extension, critical)
    return builder.sign(ca.key, hashes.SHA256())


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=KEY_BITS)


def _validity(
    builder: x509.CertificateBuilder, now: datetime, not_after: datetime
) -> x509.CertificateBuilder:
    return builder.not_valid_before(now - CLOCK_SKEW).not_valid_after(not_after)


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    # A CA signs certificates and CRLs; an RSA end entity signs (TLS 1.2+ ECDHE, TLS 1.3)
    # and, for old TLS 1.2 RSA key exchange, enciphers keys.
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=not cert_sign,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(host: str) -> x509.GeneralName:
    text = host.strip()
    if not text:
        raise ValueError("an empty host name")
    try:
        return x509.IPAddress(ipaddress.ip_address(text))
    except ValueError:
        return x509.DNSName(text)


def host_names(certificate: x509.Certificate) -> list[str]:
    """The DNS names and IP addresses a server certificate is for, in its order."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [
        str(entry.value)
        for entry in names.value
        if isinstance(entry, x509.DNSName | x509.IPAddress)
    ]


# -- serialisation ---------------------------------------------------------------------


def certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def key_pem(key: rsa.RSAPrivateKey, password: bytes | None = None) -> bytes:
    """The key in PEM: unencrypted by default, as the server reads it unattended from a
    file whose mode protects it; encrypted under ``password`` when given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.NoEncryption()
        if password is None
        else serialization.BestAvailableEncryption(password)
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def load_issued(certificate: bytes, key: bytes, password: bytes | None = None) -> Issued:
    """A certificate and its key (encrypted under ``password``, if given) back from PEM;
    ValueError if they do not belong together or the password does not open the key."""
    loaded_key = serialization.load_pem_private_key(key, password=password)
    if not isinstance(loaded_key, rsa.RSAPrivateKey):
        raise ValueError("the key is not an RSA key")
    loaded = x509.load_pem_x509_certificate(certificate)
    if loaded.public_key() != loaded_key.public_key():
        raise ValueError("the certificate and the key do not belong together")
    return Issued(loaded_key, loaded)


def pkcs12(issued: Issued, ca: x509.Certificate, password: str, friendly_name: str) -> bytes:
    """The key, its certificate and the CA, as one password-protected PKCS#12 file."""
    return pkcs12_format.serialize_key_and_certificates(
        friendly_name.encode(), issued.key, issued.certificate, [ca], _legacy(password)
    )


def truststore(ca: x509.Certificate, password: str, friendly_name: str) -> bytes:
    """The CA alone as a PKCS#12 trust store, marked trusted the way Java key stores (and
    the TAK clients built on them) look for."""
    entry = pkcs12_format.PKCS12Certificate(ca, friendly_name.encode())
    return pkcs12_format.serialize_java_truststore([entry], _legacy(password))


def _legacy(password: str) -> serialization.KeySerializationEncryption:
    if not password:
        raise ValueError("a PKCS#12 file needs a password")
    return (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(PKCS12_KDF_ROUNDS)
        .key_cert_algorithm(pkcs12_format.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())  # noqa: S303 - the MAC old clients verify (see above)
        .build(password.encode())
    )


def fingerprint(der: bytes) -> str:
    """SHA-256 of a certificate's DER form, lowercase hex: how the store knows it."""
    return hashlib.sha256(der).hexdigest()


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    return fingerprint(certificate.public_bytes(serialization.Encoding.DER))


def crl(ca: Issued, revoked: Iterable[Revoked], now: datetime, next_update: datetime) -> bytes:
    """A CRL of these serial numbers, signed by the CA, in PEM."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(now - CLOCK_SKEW)
        .next_update(next_update)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), False
        )
        # Each CRL must number higher than the last (RFC 5280); time does that.
        .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), False)
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(entry.revoked_at)
            .build()
        )
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
