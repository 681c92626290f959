"""The scale-out security store: the tables of the PostGIS schema (``tessera migrate``).

One connection per store, its calls taking turns under a lock: every call is a short point
operation. A lost connection is replaced; a read (or a change that ends the same when
made twice) is tried once more on the new one, any other change fails and the next call
goes on. Single-row changes are single statements, so the database keeps them atomic
between processes; constraint names tell which rule refused a row. The audit table
refuses UPDATE, DELETE and TRUNCATE by trigger, and appends take a table lock so sequence
numbers follow commit order across processes (a reader paging by seq misses nothing).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Final

import msgspec
import psycopg
from psycopg import errors
from psycopg.rows import TupleRow

from tessera.core.model import Principal
from tessera.postgis.connection import session_conninfo
from tessera.postgis.migrate import MigrationError, check_schema
from tessera.security import certstore, postgis_audit
from tessera.security.audit_filter import AuditFilter
from tessera.security.base import (
    AuditEvent,
    CertificateExistsError,
    CertificateRecord,
    PrincipalExistsError,
    SecurityStore,
    SecurityStoreError,
    TokenRecord,
    UnknownCertificateError,
    UnknownPrincipalError,
    UnknownTokenError,
    principal_body,
)
from tessera.security.postgis_enrollment import PostgisEnrollmentMethods
from tessera.security.postgis_sources import PostgisSourceMethods

Connection = psycopg.AsyncConnection[TupleRow]

# Queries are constants: every value goes in as a parameter.
_INSERT_PRINCIPAL: Final = (
    "INSERT INTO principals (name, body) VALUES (%s, %s::jsonb) "
    "ON CONFLICT (name) DO NOTHING RETURNING name"
)
_PRINCIPAL: Final = "SELECT body::text FROM principals WHERE name = %s"
_PRINCIPALS: Final = "SELECT body::text FROM principals ORDER BY name"
# One statement, so two processes changing the flag cannot lose each other's write.
_SET_DISABLED: Final = (
    "UPDATE principals SET body = jsonb_set(body, '{disabled}', to_jsonb(%s::boolean)) "
    "WHERE name = %s RETURNING body::text"
)
_INSERT_INTO_TOKENS: Final = (
    "INSERT INTO tokens (id, principal, secret_hash, created_at, expires_at, revoked_at) "
    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING id"
)
_SELECT_TOKENS: Final = (
    "SELECT id, principal, secret_hash, created_at, expires_at, revoked_at FROM tokens "
)
# added breaks ties between tokens created in the same microsecond.
_TOKEN_BY_ID: Final = _SELECT_TOKENS + "WHERE id = %s"
_ALL_TOKENS: Final = _SELECT_TOKENS + "ORDER BY created_at, added"
_TOKENS_OF: Final = _SELECT_TOKENS + "WHERE principal = %s ORDER BY created_at, added"
# COALESCE keeps the first revocation time: revoking again changes nothing.
_REVOKE_TOKENS: Final = (
    "UPDATE tokens SET revoked_at = COALESCE(revoked_at, %s) WHERE id = %s "
    "RETURNING id, principal, secret_hash, created_at, expires_at, revoked_at"
)
_INSERT_CERTIFICATE: Final = (
    "INSERT INTO certificates "
    "(name, principal, serial, fingerprint, issued_at, expires_at, revoked_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
_SELECT_CERTIFICATES: Final = (
    "SELECT name, principal, serial, fingerprint, issued_at, expires_at, revoked_at "
    "FROM certificates "
)
_CERTIFICATE_BY_FINGERPRINT: Final = _SELECT_CERTIFICATES + "WHERE fingerprint = %s"
_ALL_CERTIFICATES: Final = _SELECT_CERTIFICATES + "ORDER BY issued_at, added"
_CERTIFICATES_WITH_PRINCIPALS: Final = (
    "SELECT c.name, c.principal, c.serial, c.fingerprint, c.issued_at, c.expires_at, "
    "c.revoked_at, p.body::text FROM certificates AS c "
    "LEFT JOIN principals AS p ON p.name = c.principal WHERE c.fingerprint = ANY(%s)"
)
_REVOKE_CERTIFICATE: Final = (
    "UPDATE certificates SET revoked_at = COALESCE(revoked_at, %s) WHERE name = %s "
    "RETURNING name, principal, serial, fingerprint, issued_at, expires_at, revoked_at"
)
# Only when it changed: gateways ask every few seconds, and the CRL grows with revocations.
_DEPLOYMENT_CRL: Final = (
    "SELECT crl_updated_at, crl FROM deployment_ca "
    "WHERE id = 1 AND crl_updated_at IS DISTINCT FROM %s"
)
_NUL: Final = "\x00"


class PostgisSecurityStore(PostgisEnrollmentMethods, PostgisSourceMethods, SecurityStore):
    def __init__(self, dsn: str) -> None:
        self._conninfo = session_conninfo(dsn)
        self._conn: Connection | None = None
        self._open = False
        # One connection: its statements and transactions must not interleave.
        self._lock = asyncio.Lock()
        self._principal_decoder = msgspec.json.Decoder(Principal)

    async def open(self) -> None:
        if self._open:
            return
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        try:
            await check_schema(conn)
        except MigrationError as exc:
            await conn.close()
            raise SecurityStoreError(f"the security store cannot open: {exc}") from None
        except BaseException:
            await conn.close()
            raise
        self._conn, self._open = conn, True

    async def close(self) -> None:
        async with self._lock:
            self._open = False
            if self._conn is not None:
                await self._conn.close()
                self._conn = None

    async def _connection(self) -> Connection:
        """The store's connection; another if the last was lost (the server restarted, the
        network cut). Called under the lock."""
        if not self._open:
            raise RuntimeError("the security store is not open")
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        return self._conn

    @asynccontextmanager
    async def _using(self) -> AsyncIterator[Connection]:
        async with self._lock:
            yield await self._connection()

    async def _rows(
        self, query: str, params: Sequence[Any] = (), *, repeatable: bool = True
    ) -> list[TupleRow]:
        """What one statement returns. A repeatable one (a read, or a change that ends the
        same when made twice) is tried again on a new connection if the old one turns out
        to be lost, as one left idle across a server restart is."""
        async with self._lock:
            conn = await self._connection()
            try:
                return await _fetch(conn, query, params)
            except psycopg.OperationalError:
                if not (repeatable and conn.broken):
                    raise
            return await _fetch(await self._connection(), query, params)

    async def _one(
        self, query: str, params: Sequence[Any], *, repeatable: bool = True
    ) -> TupleRow | None:
        rows = await self._rows(query, params, repeatable=repeatable)
        return rows[0] if rows else None

    # -- principals --------------------------------------------------------------------

    async def add_principal(self, principal: Principal) -> None:
        body = principal_body(principal, self._principal_decoder).decode()
        if await self._one(_INSERT_PRINCIPAL, (principal.name, body), repeatable=False) is None:
            raise PrincipalExistsError(f"a principal named {principal.name!r} already exists")

    async def principal(self, name: str) -> Principal | None:
        if _NUL in name:  # PostgreSQL text cannot hold it, so no stored name does
            return None
        row = await self._one(_PRINCIPAL, (name,))
        return None if row is None else self._principal_decoder.decode(row[0])

    async def principals(self) -> list[Principal]:
        return [self._principal_decoder.decode(row[0]) for row in await self._rows(_PRINCIPALS)]

    async def set_disabled(self, name: str, disabled: bool) -> Principal:
        row = None if _NUL in name else await self._one(_SET_DISABLED, (disabled, name))
        if row is None:
            raise UnknownPrincipalError(f"no principal named {name!r}")
        return self._principal_decoder.decode(row[0])

    # -- tokens ------------------------------------------------------------------------

    async def add_token(self, token: TokenRecord) -> None:
        values = (
            _text(token.id, "token id"),
            _text(token.principal, "principal"),
            _text(token.secret_hash, "secret hash"),
            _aware(token.created_at),
            _optional(token.expires_at),
            _optional(token.revoked_at),
        )
        try:
            added = await self._one(_INSERT_INTO_TOKENS, values, repeatable=False)
        except errors.ForeignKeyViolation:
            raise UnknownPrincipalError(f"no principal named {token.principal!r}") from None
        if added is None:
            raise SecurityStoreError(f"a token with id {token.id!r} already exists")

    async def token(self, token_id: str) -> TokenRecord | None:
        row = None if _NUL in token_id else await self._one(_TOKEN_BY_ID, (token_id,))
        return None if row is None else _token(row)

    async def tokens(self, principal: str | None = None) -> list[TokenRecord]:
        if principal is None:
            rows = await self._rows(_ALL_TOKENS)
        else:
            rows = [] if _NUL in principal else await self._rows(_TOKENS_OF, (principal,))
        return [_token(row) for row in rows]

    async def revoke_token(self, token_id: str, at: datetime) -> TokenRecord:
        revoked_at = _aware(at)
        row = None if _NUL in token_id else await self._one(_REVOKE_TOKENS, (revoked_at, token_id))
        if row is None:
            raise UnknownTokenError(f"no token with id {token_id!r}")
        return _token(row)

    # -- certificates ------------------------------------------------------------------

    async def add_certificate(self, record: CertificateRecord) -> None:
        certstore.check(record)
        values = (
            record.name,
            _text(record.principal, "principal"),
            record.serial,
            record.fingerprint,
            _aware(record.issued_at),
            _aware(record.expires_at),
            _optional(record.revoked_at),
        )
        try:
            await self._rows(_INSERT_CERTIFICATE, values, repeatable=False)
        except errors.ForeignKeyViolation:
            raise UnknownPrincipalError(f"no principal named {record.principal!r}") from None
        except errors.UniqueViolation as exc:
            if exc.diag.constraint_name == "certificates_fingerprint_key":
                message = f"a certificate with fingerprint {record.fingerprint} already exists"
            else:
                message = f"a certificate named {record.name!r} already exists"
            raise CertificateExistsError(message) from None

    async def certificate(self, fingerprint: str) -> CertificateRecord | None:
        if _NUL in fingerprint:
            return None
        row = await self._one(_CERTIFICATE_BY_FINGERPRINT, (fingerprint.lower(),))
        return None if row is None else _certificate(row)

    async def certificates(self) -> list[CertificateRecord]:
        return [_certificate(row) for row in await self._rows(_ALL_CERTIFICATES)]

    async def certificate_holders(
        self, fingerprints: Collection[str]
    ) -> dict[str, tuple[CertificateRecord, Principal | None]]:
        wanted = sorted({f.lower() for f in fingerprints if _NUL not in f})
        if not wanted:
            return {}
        rows = await self._rows(_CERTIFICATES_WITH_PRINCIPALS, (wanted,))
        return {
            row[3]: (
                _certificate(row[:7]),
                None if row[7] is None else self._principal_decoder.decode(row[7]),
            )
            for row in rows
        }

    async def deployment_crl(self, after: datetime | None) -> tuple[datetime, bytes] | None:
        row = await self._one(_DEPLOYMENT_CRL, (after,))
        return None if row is None else (_aware(row[0]), bytes(row[1]))

    async def revoke_certificate(self, name: str, at: datetime) -> CertificateRecord:
        revoked_at = _aware(at)
        row = None if _NUL in name else await self._one(_REVOKE_CERTIFICATE, (revoked_at, name))
        if row is None:
            raise UnknownCertificateError(f"no certificate named {name!r}")
        return _certificate(row)

    # -- audit -------------------------------------------------------------------------

    async def append_audit(self, events: Sequence[AuditEvent]) -> list[int]:
        rows = postgis_audit.rows(events)
        if not rows:
            return []
        async with self._using() as conn:
            return await postgis_audit.append(conn, rows)

    async def audit(
        self, where: AuditFilter | None = None, *, after_seq: int = 0, limit: int = 1000
    ) -> list[AuditEvent]:
        query, parameters = postgis_audit.select(where or AuditFilter(), after_seq, limit)
        return [postgis_audit.event_of(row) for row in await self._rows(query, parameters)]


async def _fetch(conn: Connection, query: str, params: Sequence[Any]) -> list[TupleRow]:
    cursor = await conn.execute(query, params)
    return await cursor.fetchall() if cursor.description is not None else []


def _aware(moment: datetime) -> datetime:
    # A naive time has no defined instant; refusing it beats guessing a zone.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise SecurityStoreError(f"a time must carry its timezone, got {moment.isoformat()}")
    return moment


def _optional(moment: datetime | None) -> datetime | None:
    return None if moment is None else _aware(moment)


def _text(value: str, what: str) -> str:
    if _NUL in value:
        raise SecurityStoreError(f"a {what} cannot hold a NUL character")
    return value


def _token(row: TupleRow) -> TokenRecord:
    token_id, principal, secret_hash, created_at, expires_at, revoked_at = row
    return TokenRecord(
        id=token_id,
        principal=principal,
        secret_hash=secret_hash,
        created_at=created_at,
        expires_at=expires_at,
        revoked_at=revoked_at,
    )


def _certificate(row: TupleRow) -> CertificateRecord:
    name, principal, serial, fingerprint, issued_at, expires_at, revoked_at = row
    return CertificateRecord(
        name=name,
        principal=principal,
        serial=serial,
        fingerprint=fingerprint,
        issued_at=issued_at,
        expires_at=expires_at,
        revoked_at=revoked_at,
    )
