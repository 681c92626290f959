"""The embedded security store: one SQLite file in WAL mode beside the journal.

Every call is a short point operation, so the async methods run SQLite directly on the
calling thread. Several processes may hold the file at once (the server and the
``tessera users`` command): WAL lets readers run beside a writer, ``busy_timeout`` makes a
writer wait its turn, and read-modify-write steps run in ``BEGIN IMMEDIATE`` so two
processes cannot interleave them. The audit table refuses UPDATE and DELETE by trigger, so
the trail is append-only whoever opens the file. The schema grows by numbered steps
(``PRAGMA user_version``): opening a file made by an older Tessera adds what it lacks.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import msgspec

from tessera.core.model import Principal
from tessera.security import certstore, sqlite_audit, sqlite_enrollment, sqlite_sources
from tessera.security.audit_filter import AuditFilter
from tessera.security.base import (
    AuditEvent,
    CertificateRecord,
    EnrollmentRecord,
    PrincipalExistsError,
    SecurityStore,
    SecurityStoreError,
    SourceGrant,
    TokenRecord,
    UnknownPrincipalError,
    UnknownTokenError,
    check_record,
    principal_body,
)
from tessera.security.sqlite_rows import (
    aware_us,
    certificate_from_row,
    certificate_row,
    optional_us,
    token_from_row,
)
from tessera.security.sqlite_schema import (
    MIGRATIONS,
    SCHEMA,
    SCHEMA_VERSION,
    connect,
    create_schema,
)
from tessera.wal_files import write_transaction

FILE_NAME: Final = "security.sqlite3"
# The schema (sqlite_schema) is importable from here too.
__all__ = ["MIGRATIONS", "SCHEMA", "SCHEMA_VERSION", "SqliteSecurityStore", "security_store_path"]
# Queries are constants: every value goes in as a parameter.
_INSERT_INTO_TOKENS: Final = (
    "INSERT INTO tokens (id, principal, secret_hash, created_us, expires_us, revoked_us) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_SELECT_TOKENS: Final = (
    "SELECT id, principal, secret_hash, created_us, expires_us, revoked_us FROM tokens "
)
# rowid breaks ties between tokens created in the same microsecond.
_TOKEN_BY_ID: Final = _SELECT_TOKENS + "WHERE id = ?"
_ALL_TOKENS: Final = _SELECT_TOKENS + "ORDER BY created_us, rowid"
_TOKENS_OF: Final = _SELECT_TOKENS + "WHERE principal = ? ORDER BY created_us, rowid"


def security_store_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


class SqliteSecurityStore(SecurityStore):
    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        # One connection shared by whichever thread calls: a lock keeps its
        # transactions from interleaving.
        self._lock = threading.Lock()
        self._principal_decoder = msgspec.json.Decoder(Principal)

    async def open(self) -> None:
        if self._conn is not None:
            return
        # Owner-only (connect_wal): its -wal and -shm files take the same mode.
        conn = connect(self._path)
        try:
            create_schema(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    async def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                raise RuntimeError("the security store is not open")
            yield self._conn

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken at once so a read inside it cannot go stale."""
        with self._reading() as conn, write_transaction(conn):
            yield conn

    # -- principals --------------------------------------------------------------------

    async def add_principal(self, principal: Principal) -> None:
        body = principal_body(principal, self._principal_decoder)
        with self._writing() as conn:
            try:
                conn.execute(
                    "INSERT INTO principals (name, body) VALUES (?, ?)", (principal.name, body)
                )
            except sqlite3.IntegrityError:
                raise PrincipalExistsError(
                    f"a principal named {principal.name!r} already exists"
                ) from None

    async def principal(self, name: str) -> Principal | None:
        with self._reading() as conn:
            row = conn.execute("SELECT body FROM principals WHERE name = ?", (name,)).fetchone()
        return None if row is None else self._principal_decoder.decode(row[0])

    async def principals(self) -> list[Principal]:
        with self._reading() as conn:
            rows = conn.execute("SELECT body FROM principals ORDER BY name").fetchall()
        return [self._principal_decoder.decode(row[0]) for row in rows]

    async def set_disabled(self, name: str, disabled: bool) -> Principal:
        with self._writing() as conn:
            row = conn.execute("SELECT body FROM principals WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise UnknownPrincipalError(f"no principal named {name!r}")
            changed = msgspec.structs.replace(
                self._principal_decoder.decode(row[0]), disabled=disabled
            )
            conn.execute(
                "UPDATE principals SET body = ? WHERE name = ?",
                (msgspec.json.encode(changed), name),
            )
        return changed

    # -- tokens ------------------------------------------------------------------------

    async def add_token(self, token: TokenRecord) -> None:
        values = (
            token.id,
            token.principal,
            token.secret_hash,
            aware_us(token.created_at),
            optional_us(token.expires_at),
            optional_us(token.revoked_at),
        )
        with self._writing() as conn:
            known = conn.execute(
                "SELECT 1 FROM principals WHERE name = ?", (token.principal,)
            ).fetchone()
            if known is None:
                raise UnknownPrincipalError(f"no principal named {token.principal!r}")
            try:
                conn.execute(_INSERT_INTO_TOKENS, values)
            except sqlite3.IntegrityError:
                raise SecurityStoreError(f"a token with id {token.id!r} already exists") from None

    async def token(self, token_id: str) -> TokenRecord | None:
        with self._reading() as conn:
            row = conn.execute(_TOKEN_BY_ID, (token_id,)).fetchone()
        return None if row is None else token_from_row(row)

    async def tokens(self, principal: str | None = None) -> list[TokenRecord]:
        with self._reading() as conn:
            if principal is None:
                rows = conn.execute(_ALL_TOKENS).fetchall()
            else:
                rows = conn.execute(_TOKENS_OF, (principal,)).fetchall()
        return [token_from_row(row) for row in rows]

    async def revoke_token(self, token_id: str, at: datetime) -> TokenRecord:
        revoked_us = aware_us(at)
        with self._writing() as conn:
            # COALESCE keeps the first revocation time: revoking again changes nothing.
            updated = conn.execute(
                "UPDATE tokens SET revoked_us = COALESCE(revoked_us, ?) WHERE id = ?",
                (revoked_us, token_id),
            )
            if updated.rowcount == 0:
                raise UnknownTokenError(f"no token with id {token_id!r}")
            row = conn.execute(_TOKEN_BY_ID, (token_id,)).fetchone()
        return token_from_row(row)

    # -- certificates ------------------------------------------------------------------

    async def add_certificate(self, record: CertificateRecord) -> None:
        row = certificate_row(record)
        certstore.check(record)
        with self._writing() as conn:
            certstore.insert(conn, row)

    async def certificate(self, fingerprint: str) -> CertificateRecord | None:
        with self._reading() as conn:
            row = certstore.by_fingerprint(conn, fingerprint)
        return None if row is None else certificate_from_row(row)

    async def certificates(self) -> list[CertificateRecord]:
        with self._reading() as conn:
            rows = certstore.every(conn)
        return [certificate_from_row(row) for row in rows]

    async def certificate_holders(
        self, fingerprints: Collection[str]
    ) -> dict[str, tuple[CertificateRecord, Principal | None]]:
        wanted = sorted({fingerprint.lower() for fingerprint in fingerprints})
        with self._reading() as conn:
            rows = certstore.with_principals(conn, wanted)
        return {
            row[3]: (
                certificate_from_row(row),
                None if body is None else self._principal_decoder.decode(body),
            )
            for row, body in rows
        }

    async def revoke_certificate(self, name: str, at: datetime) -> CertificateRecord:
        revoked_us = aware_us(at)
        with self._writing() as conn:
            row = certstore.revoke(conn, name, revoked_us)
        return certificate_from_row(row)

    # -- enrollment tokens ---------------------------------------------------------------

    async def add_enrollment(self, record: EnrollmentRecord) -> None:
        check_record(record)
        row = sqlite_enrollment.row(record)
        with self._writing() as conn:
            sqlite_enrollment.put(conn, row)

    async def enrollment(self, name: str) -> EnrollmentRecord | None:
        with self._reading() as conn:
            return sqlite_enrollment.by_name(conn, name)

    async def use_enrollment(
        self, name: str, secret_hash: str, at: datetime
    ) -> EnrollmentRecord | None:
        at_us = aware_us(at)
        with self._writing() as conn:
            return sqlite_enrollment.use(conn, name, secret_hash, at_us)

    # -- the source registry, TAK uids, secrets ------------------------------------------

    async def add_source_grant(self, grant: SourceGrant) -> bool:
        check_record(grant)
        granted_us = aware_us(grant.granted_at or datetime.now(UTC))
        with self._writing() as conn:
            return sqlite_sources.add_grant(conn, grant, granted_us)

    async def remove_source_grant(self, principal: str, pattern: str) -> bool:
        with self._writing() as conn:
            return sqlite_sources.remove_grant(conn, principal, pattern)

    async def source_grants(self, principal: str | None = None) -> list[SourceGrant]:
        with self._reading() as conn:
            return sqlite_sources.grants(conn, principal)

    async def certificate_uid(self, fingerprint: str) -> str | None:
        with self._reading() as conn:
            return sqlite_sources.certificate_uid(conn, fingerprint)

    async def uid_holder(self, uid: str) -> str | None:
        with self._reading() as conn:
            return sqlite_sources.uid_holder(conn, uid)

    async def bind_certificate_uid(self, fingerprint: str, uid: str, at: datetime) -> str:
        bound_us = aware_us(at)
        with self._writing() as conn:
            return sqlite_sources.bind_uid(conn, fingerprint, uid, bound_us)

    async def secret(self, name: str) -> bytes:
        with self._writing() as conn:
            return sqlite_sources.secret(conn, name)

    # -- audit -------------------------------------------------------------------------

    async def append_audit(self, events: Sequence[AuditEvent]) -> list[int]:
        rows = sqlite_audit.rows(events)
        with self._writing() as conn:
            return sqlite_audit.insert(conn, rows)

    async def audit(
        self, where: AuditFilter | None = None, *, after_seq: int = 0, limit: int = 1000
    ) -> list[AuditEvent]:
        with self._reading() as conn:
            return sqlite_audit.read(conn, where or AuditFilter(), after_seq, limit)
