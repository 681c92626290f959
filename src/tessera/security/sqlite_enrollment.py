"""The SQLite security store's enrollment tokens (schema version 5), kept apart from
``sqlite.py`` as the certificates and sources are: the table and its queries, called
inside the store's own transactions. Times are microseconds since the epoch."""

from __future__ import annotations

import sqlite3
from typing import Any, Final

from tessera.microseconds import from_us
from tessera.security.base import EnrollmentRecord, UnknownPrincipalError
from tessera.security.sqlite_rows import aware_us, optional_us

ENROLLMENT_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS enrollment_tokens (
    name TEXT PRIMARY KEY,
    principal TEXT NOT NULL REFERENCES principals (name),
    secret_hash TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    expires_us INTEGER NOT NULL,
    used_us INTEGER
);
"""
_SELECT: Final = (
    "SELECT name, principal, secret_hash, created_us, expires_us, used_us FROM enrollment_tokens "
)
# A new token for a name replaces the last, used or not.
_PUT: Final = (
    "INSERT OR REPLACE INTO enrollment_tokens (name, principal, secret_hash, created_us, "
    "expires_us, used_us) VALUES (?, ?, ?, ?, ?, ?)"
)
_BY_NAME: Final = _SELECT + "WHERE name = ?"
# One statement: of two requests with the same token, one changes the row.
_USE: Final = (
    "UPDATE enrollment_tokens SET used_us = ? "
    "WHERE name = ? AND secret_hash = ? AND used_us IS NULL AND expires_us > ?"
)


def row(record: EnrollmentRecord) -> tuple[Any, ...]:
    return (
        record.name,
        record.principal,
        record.secret_hash,
        aware_us(record.created_at),
        aware_us(record.expires_at),
        optional_us(record.used_at),
    )


def put(conn: sqlite3.Connection, row: tuple[Any, ...]) -> None:
    principal = row[1]
    known = conn.execute("SELECT 1 FROM principals WHERE name = ?", (principal,)).fetchone()
    if known is None:
        raise UnknownPrincipalError(f"no principal named {principal!r}")
    conn.execute(_PUT, row)


def by_name(conn: sqlite3.Connection, name: str) -> EnrollmentRecord | None:
    row = conn.execute(_BY_NAME, (name,)).fetchone()
    return None if row is None else _record(row)


def use(
    conn: sqlite3.Connection, name: str, secret_hash: str, at_us: int
) -> EnrollmentRecord | None:
    if conn.execute(_USE, (at_us, name, secret_hash, at_us)).rowcount == 0:
        return None
    return by_name(conn, name)


def _record(row: tuple[Any, ...]) -> EnrollmentRecord:
    name, principal, secret_hash, created_us, expires_us, used_us = row
    return EnrollmentRecord(
        name=name,
        principal=principal,
        secret_hash=secret_hash,
        created_at=from_us(created_us),
        expires_at=from_us(expires_us),
        used_at=None if used_us is None else from_us(used_us),
    )
