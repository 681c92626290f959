"""The security store: principals, their tokens and certificates, and the audit trail
(DESIGN §3, §5).

One interface, one contract suite, an implementation per backend (SQLite embedded; a
scale-out one later). Tokens are kept only as hashes: the secret is shown once when it is
issued and never stored. Certificates are kept as their SHA-256 fingerprints, so the server
can map a presented client certificate to its principal; never their keys. The audit
trail is append-only: nothing here updates or deletes an event.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Final

import msgspec

from tessera.core.model import PRINCIPAL_PATTERN, Principal

if TYPE_CHECKING:
    from tessera.security.audit_filter import AuditFilter

FINGERPRINT_PATTERN: Final = r"^[0-9a-f]{64}$(?!\n)"
# A certificate's name becomes a file name, so it follows the principal name rules.
CertificateName = Annotated[str, msgspec.Meta(pattern=PRINCIPAL_PATTERN, max_length=64)]
Fingerprint = Annotated[str, msgspec.Meta(pattern=FINGERPRINT_PATTERN)]
SerialNumber = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,50}$(?!\n)")]


class SecurityStoreError(ValueError):
    """A request the store refuses; the message says why."""


class PrincipalExistsError(SecurityStoreError):
    pass


class UnknownPrincipalError(SecurityStoreError):
    pass


class UnknownTokenError(SecurityStoreError):
    pass


class CertificateExistsError(SecurityStoreError):
    pass


class UnknownCertificateError(SecurityStoreError):
    pass


class UidTakenError(SecurityStoreError):
    """A TAK uid already bound to another certificate."""


# A source id a principal may report as: exact, or a prefix ending in ``*`` (``*`` alone
# is every source: for the deployment's own trusted feeds only).
SOURCE_PATTERN: Final = r"^(\*|[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}\*?)$(?!\n)"
SourcePattern = Annotated[str, msgspec.Meta(pattern=SOURCE_PATTERN, max_length=129)]
PrincipalName = Annotated[str, msgspec.Meta(pattern=PRINCIPAL_PATTERN, max_length=64)]


class TokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A token as stored: its public id, whose it is, and the hash of its secret."""

    id: str
    principal: str
    secret_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at


class CertificateRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A client certificate as stored: its name, whose it is, its serial number (in decimal)
    and the SHA-256 fingerprint of its DER form (lowercase hex)."""

    name: CertificateName
    principal: str
    serial: SerialNumber
    fingerprint: Fingerprint
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.issued_at <= now < self.expires_at


class EnrollmentRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A one-time enrollment token as stored: the certificate name it is for (the user
    name a TAK client enrolls with), the principal that certificate will stand for, and
    the hash of its secret. Used once, or not at all after ``expires_at``."""

    name: CertificateName
    principal: str
    secret_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


class SourceGrant(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """That ``principal`` may report as the source ids ``pattern`` names (and use them as
    a report's subject)."""

    principal: PrincipalName
    pattern: SourcePattern
    granted_at: datetime | None = None


def check_record(value: msgspec.Struct) -> None:
    """Refuse a record that could not be read back: one whose constraints are broken
    (msgspec checks them when decoding, not when a struct is made in code)."""
    try:
        msgspec.convert(msgspec.to_builtins(value), type(value))
    except msgspec.ValidationError as exc:
        raise SecurityStoreError(f"invalid {type(value).__name__}: {exc}") from None


def principal_body(principal: Principal, decoder: msgspec.json.Decoder[Principal]) -> bytes:
    """A principal's stored form, checked by decoding it with ``decoder``: a row that could
    not be read back (a bad name, a time without a zone) would break every later lookup."""
    if principal.created_at is not None and principal.created_at.tzinfo is not None:
        principal = msgspec.structs.replace(
            principal, created_at=principal.created_at.astimezone(UTC)
        )
    body = msgspec.json.encode(principal)
    try:
        decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise SecurityStoreError(f"invalid principal: {exc}") from None
    return body


class AuditEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Who did what, when, from where, and how it ended. ``seq`` is given by the store."""

    at: datetime
    principal: str | None
    action: str
    outcome: str = "ok"
    target: str = ""
    address: str = ""
    detail: dict[str, Any] = msgspec.field(default_factory=dict)
    seq: int = 0


class SecurityStore(abc.ABC):
    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    # Principals.
    @abc.abstractmethod
    async def add_principal(self, principal: Principal) -> None:
        """Store a new principal; PrincipalExistsError if the name is taken."""

    @abc.abstractmethod
    async def principal(self, name: str) -> Principal | None: ...

    @abc.abstractmethod
    async def principals(self) -> list[Principal]:
        """Every principal, by name."""

    @abc.abstractmethod
    async def set_disabled(self, name: str, disabled: bool) -> Principal:
        """Disable (or enable again) a principal; UnknownPrincipalError if there is none."""

    # Tokens.
    @abc.abstractmethod
    async def add_token(self, token: TokenRecord) -> None:
        """Store an issued token; UnknownPrincipalError if its principal does not exist."""

    @abc.abstractmethod
    async def token(self, token_id: str) -> TokenRecord | None: ...

    @abc.abstractmethod
    async def tokens(self, principal: str | None = None) -> list[TokenRecord]:
        """Tokens (of one principal, or all), oldest first."""

    @abc.abstractmethod
    async def revoke_token(self, token_id: str, at: datetime) -> TokenRecord:
        """Revoke a token from ``at`` (revoking twice keeps the first time);
        UnknownTokenError if there is none."""

    # Certificates.
    @abc.abstractmethod
    async def add_certificate(self, record: CertificateRecord) -> None:
        """Store an issued certificate; CertificateExistsError if its name (or its
        fingerprint) is taken, UnknownPrincipalError if its principal does not exist."""

    @abc.abstractmethod
    async def certificate(self, fingerprint: str) -> CertificateRecord | None:
        """The certificate with this SHA-256 fingerprint (hex, any case)."""

    @abc.abstractmethod
    async def certificates(self) -> list[CertificateRecord]:
        """Every certificate, oldest first."""

    @abc.abstractmethod
    async def certificate_holders(
        self, fingerprints: Collection[str]
    ) -> dict[str, tuple[CertificateRecord, Principal | None]]:
        """The certificates with these fingerprints (lowercase hex), each with the principal
        it was issued to (None if that is gone), by fingerprint; unknown ones are left out.
        One query (a few for thousands): the server rechecks every live connection with it."""

    @abc.abstractmethod
    async def revoke_certificate(self, name: str, at: datetime) -> CertificateRecord:
        """Revoke a certificate from ``at`` (revoking twice keeps the first time);
        UnknownCertificateError if there is none."""

    # Enrollment tokens: one-time passwords a TAK client enrolls for a certificate with.
    @abc.abstractmethod
    async def add_enrollment(self, record: EnrollmentRecord) -> None:
        """Store an enrollment token, replacing any earlier one for the same name;
        UnknownPrincipalError if its principal does not exist."""

    @abc.abstractmethod
    async def enrollment(self, name: str) -> EnrollmentRecord | None:
        """The enrollment token for this certificate name, used or not."""

    @abc.abstractmethod
    async def use_enrollment(
        self, name: str, secret_hash: str, at: datetime
    ) -> EnrollmentRecord | None:
        """Mark the token for ``name`` used at ``at`` if its hash is ``secret_hash`` and it
        is usable then; the record as used, or None (unknown, wrong, used or expired).
        Of two callers at once, only one succeeds."""

    # The source registry: which principal may report as which source ids.
    @abc.abstractmethod
    async def add_source_grant(self, grant: SourceGrant) -> bool:
        """Store a grant; False if the principal held that pattern already (the first
        grant's time stays). UnknownPrincipalError if there is no such principal."""

    @abc.abstractmethod
    async def remove_source_grant(self, principal: str, pattern: str) -> bool:
        """Remove a grant; False if there was none."""

    @abc.abstractmethod
    async def source_grants(self, principal: str | None = None) -> list[SourceGrant]:
        """The grants (of one principal, or all), by principal and pattern."""

    # TAK uids: the uid a client certificate reports its own position as.
    @abc.abstractmethod
    async def certificate_uid(self, fingerprint: str) -> str | None:
        """The uid bound to the certificate with this fingerprint, if any."""

    @abc.abstractmethod
    async def uid_holder(self, uid: str) -> str | None:
        """The fingerprint of the certificate ``uid`` is bound to, if any."""

    @abc.abstractmethod
    async def bind_certificate_uid(self, fingerprint: str, uid: str, at: datetime) -> str:
        """Bind ``uid`` to the certificate unless it has one already; the uid it is bound
        to. UidTakenError if another certificate holds ``uid``, UnknownCertificateError if
        there is no such certificate."""

    async def deployment_crl(self, after: datetime | None) -> tuple[datetime, bytes] | None:
        """The deployment's CRL (PEM) and when it was written, if the store keeps one and
        it was written since ``after`` (the time this caller last got). A store without
        one (SQLite: the data folder's file is the CRL) answers None."""
        return None

    # Deployment secrets (keys the gateways of one deployment share).
    @abc.abstractmethod
    async def secret(self, name: str) -> bytes:
        """The named 32-byte secret, made (at random, once for every process) if new."""

    # Audit.
    @abc.abstractmethod
    async def append_audit(self, events: Sequence[AuditEvent]) -> list[int]:
        """Append events durably; their sequence numbers, in order."""

    @abc.abstractmethod
    async def audit(
        self, where: AuditFilter | None = None, *, after_seq: int = 0, limit: int = 1000
    ) -> list[AuditEvent]:
        """Events that ``where`` admits (all of them without it) with ``seq > after_seq``,
        oldest first, at most ``limit``."""
