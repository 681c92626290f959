"""TAK certificate enrollment, the service: checks a client's name and one-time token,
signs its request with the deployment's CA, records the certificate as ``tessera certs
client`` does (so it maps to its principal, is listed, and can be revoked), binds the
client's uid, and audits every attempt. No HTTP here: the enrollment port calls it.

Failed credentials count against the client's address in the same failure limiter as the
web sign-in, so guessing tokens on either costs the same window.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tessera.core.model import ID_PATTERN
from tessera.security import certs, enrollment
from tessera.security.audit import AuditTrail
from tessera.security.base import (
    AuditEvent,
    CertificateExistsError,
    CertificateRecord,
    EnrollmentRecord,
    SecurityStore,
    UidTakenError,
)
from tessera.security.gate import AccessDeniedError
from tessera.security.limits import FailureLimiter

ACTION: Final = "certificate.enroll"
CLIENT_DAYS: Final = 365
_DENIED: Final = "the user name or enrollment token is not valid (unknown, used or expired)"


class EnrollmentDeniedError(AccessDeniedError):
    """A refused enrollment: the HTTP status, a message for the client, and for 429 how
    long to wait."""


@dataclass(frozen=True)
class Enrolled:
    certificate: x509.Certificate
    chain: list[x509.Certificate]
    record: CertificateRecord
    uid: str | None


@dataclass
class Enroller:
    store: SecurityStore
    audit: AuditTrail
    clock: Callable[[], datetime]
    failures: FailureLimiter
    load_ca: Callable[[], Awaitable[certs.Issued]]
    days: int = CLIENT_DAYS
    monotonic: Callable[[], float] = field(default=time.monotonic)

    async def authenticate(
        self, credentials: tuple[str, str] | None, address: str
    ) -> EnrollmentRecord:
        """The token the client's (name, secret) opens, still unused; else 401 (audited,
        counted against ``address``) or 429 when the address has failed too often."""
        wait = self.failures.retry_after(address, self.monotonic())
        if wait is not None:
            raise EnrollmentDeniedError(429, "too many failed attempts from this address", wait)
        if credentials is None:
            self._fail(address, "", "no credentials")
            raise EnrollmentDeniedError(401, "send the user name and enrollment token")
        name, secret = credentials
        record = await self.store.enrollment(name) if len(name) <= 64 else None
        reason = await self._refusal(record, secret)
        if record is None or reason is not None:
            self._fail(address, name, reason or "unknown name")
            raise EnrollmentDeniedError(401, _DENIED)
        return record

    async def _refusal(self, record: EnrollmentRecord | None, secret: str) -> str | None:
        if record is None:
            return "unknown name"
        if not enrollment.matches(record, secret):
            return "wrong token"
        if record.used_at is not None:
            return "token already used"
        if not record.usable(self.clock()):
            return "token expired"
        principal = await self.store.principal(record.principal)
        if principal is None or principal.disabled:
            return "principal disabled"
        return None

    async def enroll(
        self, record: EnrollmentRecord, secret: str, csr_body: bytes, uid: str | None, address: str
    ) -> Enrolled:
        """Sign the request for the token's name and principal, consuming the token.
        400 for a request Tessera will not sign (the token stays unused), 401 if the
        token was used meanwhile, 409 if the name is taken by a certificate."""
        try:
            csr = enrollment.parse_csr(csr_body)
        except enrollment.CsrError as exc:
            self._fail(address, record.name, f"bad signing request: {exc}", count=False)
            raise EnrollmentDeniedError(400, str(exc)) from None
        now = self.clock()
        used = await self.store.use_enrollment(record.name, enrollment.hash_secret(secret), now)
        if used is None:
            self._fail(address, record.name, "token already used")
            raise EnrollmentDeniedError(401, _DENIED)
        ca = await self.load_ca()
        signed = certs.sign_client_key(
            ca, enrollment.csr_key(csr), used.name, used.principal, now, self.days
        )
        stored = CertificateRecord(
            name=used.name,
            principal=used.principal,
            serial=str(signed.serial_number),
            fingerprint=certs.certificate_fingerprint(signed),
            issued_at=now,
            expires_at=signed.not_valid_after_utc,
        )
        try:
            await self.store.add_certificate(stored)
        except CertificateExistsError as exc:
            self._fail(address, used.name, str(exc), count=False)
            raise EnrollmentDeniedError(409, str(exc)) from None
        bound = await self._bind(stored, uid, now)
        detail: dict[str, Any] = {
            "principal": used.principal,
            "serial": stored.serial,
            "fingerprint": stored.fingerprint,
            "expires_at": stored.expires_at.isoformat(),
            "requested_name": enrollment.requested_name(csr),
            "uid": bound,
        }
        self.audit.record(
            AuditEvent(
                at=now,
                principal=used.principal,
                action=ACTION,
                target=used.name,
                address=address,
                detail=detail,
            )
        )
        return Enrolled(signed, [ca.certificate], stored, bound)

    async def _bind(self, record: CertificateRecord, uid: str | None, now: datetime) -> str | None:
        """Bind the client's uid to its new certificate if it is one Tessera keeps and no
        other certificate holds it (else the first uid it reports is bound, as always)."""
        if uid is None or not re.fullmatch(ID_PATTERN, uid):
            return None
        if await self.store.uid_holder(uid) is not None:
            return None
        try:
            return await self.store.bind_certificate_uid(record.fingerprint, uid, now)
        except UidTakenError:  # bound to another certificate meanwhile
            return None

    def _fail(self, address: str, name: str, reason: str, *, count: bool = True) -> None:
        if count:
            self.failures.record(address, self.monotonic())
        self.audit.record(
            AuditEvent(
                at=self.clock(),
                principal=None,
                action=ACTION,
                outcome="failed",
                target=name[:64],
                address=address,
                detail={"reason": reason},
            )
        )


def certificate_der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)
