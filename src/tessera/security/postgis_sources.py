"""The PostGIS security store's source registry, TAK uids and deployment secrets
(migration 0005), as a part of ``PostgisSecurityStore`` kept in its own module."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from psycopg import errors
from psycopg.rows import TupleRow

from tessera.security.base import (
    SourceGrant,
    UidTakenError,
    UnknownCertificateError,
    UnknownPrincipalError,
    check_record,
)

SECRET_BYTES: Final = 32
_NUL: Final = "\x00"
_ADD_GRANT: Final = (
    "INSERT INTO source_grants (principal, pattern, granted_at) VALUES (%s, %s, %s) "
    "ON CONFLICT (principal, pattern) DO NOTHING RETURNING principal"
)
_REMOVE_GRANT: Final = (
    "DELETE FROM source_grants WHERE principal = %s AND pattern = %s RETURNING principal"
)
_GRANTS: Final = "SELECT principal, pattern, granted_at FROM source_grants "
_ALL_GRANTS: Final = _GRANTS + "ORDER BY principal, pattern"
_GRANTS_OF: Final = _GRANTS + "WHERE principal = %s ORDER BY pattern"
_UID_OF: Final = "SELECT uid FROM certificate_uids WHERE fingerprint = %s"
_HOLDER_OF: Final = "SELECT fingerprint FROM certificate_uids WHERE uid = %s"
_BIND_UID: Final = (
    "INSERT INTO certificate_uids (fingerprint, uid, bound_at) VALUES (%s, %s, %s) "
    "ON CONFLICT (fingerprint) DO NOTHING"
)
# Whoever inserts first wins; everyone then reads the same value.
_ADD_KEY: Final = "INSERT INTO secrets (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING"
_KEY: Final = "SELECT value FROM secrets WHERE name = %s"


class PostgisSourceMethods:
    """What ``PostgisSecurityStore`` keeps of sources, uids and secrets."""

    async def _rows(
        self, query: str, params: Sequence[Any] = (), *, repeatable: bool = True
    ) -> list[TupleRow]:
        raise NotImplementedError

    async def add_source_grant(self, grant: SourceGrant) -> bool:
        check_record(grant)
        granted_at = grant.granted_at or datetime.now(UTC)
        values = (grant.principal, grant.pattern, granted_at)
        try:
            rows = await self._rows(_ADD_GRANT, values, repeatable=False)
        except errors.ForeignKeyViolation:
            raise UnknownPrincipalError(f"no principal named {grant.principal!r}") from None
        return bool(rows)

    async def remove_source_grant(self, principal: str, pattern: str) -> bool:
        if _NUL in principal + pattern:
            return False
        return bool(await self._rows(_REMOVE_GRANT, (principal, pattern)))

    async def source_grants(self, principal: str | None = None) -> list[SourceGrant]:
        if principal is None:
            rows = await self._rows(_ALL_GRANTS)
        else:
            rows = [] if _NUL in principal else await self._rows(_GRANTS_OF, (principal,))
        return [
            SourceGrant(principal=name, pattern=pattern, granted_at=granted_at)
            for name, pattern, granted_at in rows
        ]

    async def certificate_uid(self, fingerprint: str) -> str | None:
        if _NUL in fingerprint:
            return None
        rows = await self._rows(_UID_OF, (fingerprint.lower(),))
        return str(rows[0][0]) if rows else None

    async def uid_holder(self, uid: str) -> str | None:
        if _NUL in uid:
            return None
        rows = await self._rows(_HOLDER_OF, (uid,))
        return str(rows[0][0]) if rows else None

    async def bind_certificate_uid(self, fingerprint: str, uid: str, at: datetime) -> str:
        fingerprint = fingerprint.lower()
        if _NUL in fingerprint + uid:
            raise UnknownCertificateError(f"no certificate with fingerprint {fingerprint!r}")
        try:
            # Repeatable: a binding made twice ends as made once.
            await self._rows(_BIND_UID, (fingerprint, uid, at))
        except errors.ForeignKeyViolation:
            raise UnknownCertificateError(
                f"no certificate with fingerprint {fingerprint}"
            ) from None
        except errors.UniqueViolation:
            raise UidTakenError(f"the uid {uid!r} is bound to another certificate") from None
        bound = await self.certificate_uid(fingerprint)
        assert bound is not None
        return bound

    async def secret(self, name: str) -> bytes:
        await self._rows(_ADD_KEY, (name, secrets.token_bytes(SECRET_BYTES)))
        rows = await self._rows(_KEY, (name,))
        return bytes(rows[0][0])
