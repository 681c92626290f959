"""TAK certificate enrollment, the pure part: one-time enrollment tokens, and the
certificate signing requests TAK clients send. No store, no HTTP.

A token is made for one certificate name (the user name the client enrolls with) and one
principal; its secret is random, shown once, kept only as its SHA-256 hash, and good for
one enrollment before it expires. The secret is typed on a phone or carried in a QR code,
so it is short, URL-safe text; 144 random bits are far beyond guessing within the
sign-in failure limits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tessera.security.base import EnrollmentRecord
from tessera.security.certs import KEY_BITS, CertificatePublicKey

TOKEN_BYTES: Final = 18
DEFAULT_TTL: Final = timedelta(hours=24)
MAX_CSR_BYTES: Final = 16 * 1024
_CURVES: Final = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)
_PEM_LINE: Final = re.compile(rb"-----(BEGIN|END) [A-Z ]+-----")


class CsrError(ValueError):
    """A signing request Tessera will not sign; the message says why."""


@dataclass(frozen=True)
class IssuedEnrollment:
    """A new enrollment token: the record to store, and the secret to show once."""

    record: EnrollmentRecord
    secret: str

    def __repr__(self) -> str:
        # Never the secret: a repr ends up in logs and tracebacks.
        return f"IssuedEnrollment(name={self.record.name!r})"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(name: str, principal: str, now: datetime, ttl: timedelta) -> IssuedEnrollment:
    if ttl <= timedelta(0):
        raise ValueError("an enrollment token must be valid for some time")
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    record = EnrollmentRecord(
        name=name,
        principal=principal,
        secret_hash=hash_secret(secret),
        created_at=now,
        expires_at=now + ttl,
    )
    return IssuedEnrollment(record, secret)


def matches(record: EnrollmentRecord, secret: str) -> bool:
    return hmac.compare_digest(record.secret_hash, hash_secret(secret))


def parse_csr(body: bytes) -> x509.CertificateSigningRequest:
    """A signing request as ATAK and iTAK post it: PEM, or its base64 body alone (TAK
    Server takes both). CsrError unless it is well formed, self-signed by its key, and
    that key is RSA of at least 2048 bits or EC on a NIST curve."""
    if len(body) > MAX_CSR_BYTES:
        raise CsrError(f"the signing request is over {MAX_CSR_BYTES} bytes")
    text = b"".join(_PEM_LINE.sub(b"", body).split())
    if not text:
        raise CsrError("the body holds no signing request (send the CSR, PEM or base64)")
    try:
        der = base64.b64decode(text, validate=True)
        csr = x509.load_der_x509_csr(der)
    except (binascii.Error, ValueError) as exc:
        raise CsrError(f"the body is not a PKCS#10 signing request: {exc}") from None
    if not csr.is_signature_valid:
        raise CsrError("the signing request's signature does not match its key")
    csr_key(csr)
    return csr


def csr_key(csr: x509.CertificateSigningRequest) -> CertificatePublicKey:
    """The request's key, if it is one Tessera signs for; else CsrError."""
    try:
        key = csr.public_key()
    except ValueError as exc:
        raise CsrError(f"the signing request's key cannot be read: {exc}") from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < KEY_BITS:
            raise CsrError(f"an RSA key of {key.key_size} bits is too short ({KEY_BITS} or more)")
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, _CURVES):
            raise CsrError(f"the EC curve {key.curve.name} is not one Tessera signs for")
        return key
    raise CsrError("the signing request's key is neither RSA nor EC")


def requested_name(csr: x509.CertificateSigningRequest) -> str:
    """The common name the request asks for (it is not the one the certificate gets)."""
    names = csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    value = names[0].value if names else ""
    return value if isinstance(value, str) else value.decode(errors="replace")
