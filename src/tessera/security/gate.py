"""Checking credentials: a bearer token to a caller, with the failure and request limits.

Shared by every transport that authenticates with tokens (the HTTP API, its stream, the
sign-in). A failed attempt counts against the client's address and is audited by the
token's public id only, never its secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from tessera.core.model import Principal
from tessera.security import tokens
from tessera.security.audit import AuditTrail
from tessera.security.base import AuditEvent, SecurityStore
from tessera.security.limits import FailureLimiter, RequestLimiter

_DENIED: Final = (
    "the token is not valid: it is unknown, expired or revoked, or its holder is disabled"
)


class AccessDeniedError(Exception):
    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class Caller:
    principal: Principal
    token_id: str
    address: str


class Gate:
    """Checks credentials: shared by the middleware and the login route."""

    def __init__(
        self,
        *,
        store: SecurityStore,
        audit: AuditTrail,
        clock: Callable[[], datetime],
        failures: FailureLimiter,
        requests: RequestLimiter,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.audit = audit
        self.clock = clock
        self.failures = failures
        self.requests = requests
        self.monotonic = monotonic

    async def verify(self, token: str | None, address: str, *, action: str) -> Caller:
        """The caller behind ``token``, or AccessDeniedError (401 or 429)."""
        wait = self.failures.retry_after(address, self.monotonic())
        if wait is not None:
            raise AccessDeniedError(429, "too many failed sign-ins from this address; wait", wait)
        if not token:
            raise AccessDeniedError(401, "sign in: send Authorization: Bearer <token>")
        caller = await self._lookup(token, address)
        if caller is None:
            self.failures.record(address, self.monotonic())
            self.audit.record(
                AuditEvent(
                    at=self.clock(),
                    principal=None,
                    action=action,
                    outcome="failed",
                    # Only the public id, never the secret.
                    target=tokens.token_id(token) or "malformed token",
                    address=address,
                )
            )
            raise AccessDeniedError(401, _DENIED)
        wait = self.requests.take(caller.principal.name, self.monotonic())
        if wait is not None:
            raise AccessDeniedError(429, "too many requests; slow down", wait)
        return caller

    async def _lookup(self, token: str, address: str) -> Caller | None:
        parsed = tokens.parse(token)
        if parsed is None:
            return None
        token_id, secret = parsed
        record = await self.store.token(token_id)
        if record is None or not tokens.matches(record, secret) or not record.usable(self.clock()):
            return None
        principal = await self.store.principal(record.principal)
        if principal is None or principal.disabled:
            return None
        return Caller(principal, token_id, address)

    async def still_valid(self, caller: Caller) -> bool:
        """Whether the token and principal behind a long-lived connection still hold."""
        record = await self.store.token(caller.token_id)
        if record is None or not record.usable(self.clock()):
            return False
        principal = await self.store.principal(caller.principal.name)
        return principal is not None and not principal.disabled
