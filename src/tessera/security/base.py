"""The security store: principals, their tokens and the audit trail (DESIGN §3, §5).

One interface, one contract suite, an implementation per backend (SQLite embedded; a
scale-out one later). Tokens are kept only as hashes: the secret is shown once when it is
issued and never stored. The audit trail is append-only: nothing here updates or deletes
an event.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from tessera.core.model import Principal


class SecurityStoreError(ValueError):
    """A request the store refuses; the message says why."""


class PrincipalExistsError(SecurityStoreError):
    pass


class UnknownPrincipalError(SecurityStoreError):
    pass


class UnknownTokenError(SecurityStoreError):
    pass


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

    # Audit.
    @abc.abstractmethod
    async def append_audit(self, events: Sequence[AuditEvent]) -> list[int]:
        """Append events durably; their sequence numbers, in order."""

    @abc.abstractmethod
    async def audit(
        self, *, since: datetime | None = None, after_seq: int = 0, limit: int = 1000
    ) -> list[AuditEvent]:
        """Events at or after ``since`` with ``seq > after_seq``, oldest first."""
