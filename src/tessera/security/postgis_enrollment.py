"""The PostGIS security store's enrollment tokens (migration 0008), as a part of
``PostgisSecurityStore`` kept in its own module."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from psycopg import errors
from psycopg.rows import TupleRow

from tessera.security.base import (
    EnrollmentRecord,
    SecurityStoreError,
    UnknownPrincipalError,
    check_record,
)

_NUL: Final = "\x00"
_SELECT: Final = (
    "SELECT name, principal, secret_hash, created_at, expires_at, used_at FROM enrollment_tokens "
)
# A new token for a name replaces the last, used or not.
_PUT: Final = (
    "INSERT INTO enrollment_tokens (name, principal, secret_hash, created_at, expires_at, "
    "used_at) VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (name) DO UPDATE SET principal = EXCLUDED.principal, "
    "secret_hash = EXCLUDED.secret_hash, created_at = EXCLUDED.created_at, "
    "expires_at = EXCLUDED.expires_at, used_at = EXCLUDED.used_at"
)
_BY_NAME: Final = _SELECT + "WHERE name = %s"
# One statement: of two requests with the same token, one changes the row.
_USE: Final = (
    "UPDATE enrollment_tokens SET used_at = %s "
    "WHERE name = %s AND secret_hash = %s AND used_at IS NULL AND expires_at > %s "
    "RETURNING name, principal, secret_hash, created_at, expires_at, used_at"
)


class PostgisEnrollmentMethods:
    """What ``PostgisSecurityStore`` keeps of enrollment tokens."""

    async def _rows(
        self, query: str, params: Sequence[Any] = (), *, repeatable: bool = True
    ) -> list[TupleRow]:
        raise NotImplementedError

    async def add_enrollment(self, record: EnrollmentRecord) -> None:
        check_record(record)
        for moment in (record.created_at, record.expires_at, record.used_at):
            if moment is not None and moment.utcoffset() is None:
                raise SecurityStoreError(f"a time must carry its timezone, got {moment}")
        if _NUL in record.principal or _NUL in record.secret_hash:
            raise SecurityStoreError("an enrollment token cannot hold a NUL character")
        values = (
            record.name,
            record.principal,
            record.secret_hash,
            record.created_at,
            record.expires_at,
            record.used_at,
        )
        try:
            await self._rows(_PUT, values)
        except errors.ForeignKeyViolation:
            raise UnknownPrincipalError(f"no principal named {record.principal!r}") from None

    async def enrollment(self, name: str) -> EnrollmentRecord | None:
        rows = [] if _NUL in name else await self._rows(_BY_NAME, (name,))
        return _record(rows[0]) if rows else None

    async def use_enrollment(
        self, name: str, secret_hash: str, at: datetime
    ) -> EnrollmentRecord | None:
        if at.utcoffset() is None:
            raise SecurityStoreError(f"a time must carry its timezone, got {at.isoformat()}")
        if _NUL in name or _NUL in secret_hash:
            return None
        rows = await self._rows(_USE, (at, name, secret_hash, at), repeatable=False)
        return _record(rows[0]) if rows else None


def _record(row: TupleRow) -> EnrollmentRecord:
    name, principal, secret_hash, created_at, expires_at, used_at = row
    return EnrollmentRecord(
        name=name,
        principal=principal,
        secret_hash=secret_hash,
        created_at=created_at,
        expires_at=expires_at,
        used_at=used_at,
    )
