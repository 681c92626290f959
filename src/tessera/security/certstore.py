"""The SQLite security store's certificate table (schema version 2).

Kept apart from ``sqlite.py`` so that module stays readable: here are the table, its
queries and the checks on a record; ``SqliteSecurityStore`` converts times and calls these
inside its own transactions. Rows hold times as microseconds since the epoch, like the
other tables.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Final

import msgspec

from tessera.security.base import (
    CertificateExistsError,
    CertificateRecord,
    SecurityStoreError,
    UnknownCertificateError,
    UnknownPrincipalError,
)

# name, principal, serial, fingerprint, issued_us, expires_us, revoked_us
CertificateRow = tuple[str, str, str, str, int, int, int | None]

CERTIFICATES_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS certificates (
    name TEXT PRIMARY KEY,
    principal TEXT NOT NULL REFERENCES principals (name),
    serial TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    issued_us INTEGER NOT NULL,
    expires_us INTEGER NOT NULL,
    revoked_us INTEGER
);
"""
_INSERT: Final = (
    "INSERT INTO certificates "
    "(name, principal, serial, fingerprint, issued_us, expires_us, revoked_us) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_SELECT: Final = (
    "SELECT name, principal, serial, fingerprint, issued_us, expires_us, revoked_us "
    "FROM certificates "
)
_BY_FINGERPRINT: Final = _SELECT + "WHERE fingerprint = ?"
_BY_NAME: Final = _SELECT + "WHERE name = ?"
_WITH_PRINCIPALS: Final = (
    "SELECT c.name, c.principal, c.serial, c.fingerprint, c.issued_us, c.expires_us, "
    "c.revoked_us, p.body FROM certificates AS c "
    "LEFT JOIN principals AS p ON p.name = c.principal WHERE c.fingerprint IN ({marks})"
)
# Within SQLite's smallest limit on a statement's parameters.
_CHUNK: Final = 900
# rowid breaks ties between certificates issued in the same microsecond.
_ALL: Final = _SELECT + "ORDER BY issued_us, rowid"
# COALESCE keeps the first revocation time: revoking again changes nothing.
_REVOKE: Final = "UPDATE certificates SET revoked_us = COALESCE(revoked_us, ?) WHERE name = ?"


def check(record: CertificateRecord) -> None:
    """Refuse a record that could not be read back: a name that is no file name, a
    fingerprint that is not lowercase SHA-256 hex, a serial that is not decimal."""
    try:
        msgspec.convert(msgspec.to_builtins(record), CertificateRecord)
    except msgspec.ValidationError as exc:
        raise SecurityStoreError(f"invalid certificate record: {exc}") from None


def insert(conn: sqlite3.Connection, row: CertificateRow) -> None:
    name, principal, _, fingerprint = row[:4]
    known = conn.execute("SELECT 1 FROM principals WHERE name = ?", (principal,)).fetchone()
    if known is None:
        raise UnknownPrincipalError(f"no principal named {principal!r}")
    if conn.execute(_BY_NAME, (name,)).fetchone() is not None:
        raise CertificateExistsError(f"a certificate named {name!r} already exists")
    try:
        conn.execute(_INSERT, row)
    except sqlite3.IntegrityError:
        raise CertificateExistsError(
            f"a certificate with fingerprint {fingerprint} already exists"
        ) from None


def by_fingerprint(conn: sqlite3.Connection, fingerprint: str) -> CertificateRow | None:
    return _row(conn.execute(_BY_FINGERPRINT, (fingerprint.lower(),)).fetchone())


def with_principals(
    conn: sqlite3.Connection, fingerprints: Sequence[str]
) -> list[tuple[CertificateRow, bytes | None]]:
    """The certificates with these fingerprints, each with its principal's stored body."""
    found: list[tuple[CertificateRow, bytes | None]] = []
    for start in range(0, len(fingerprints), _CHUNK):
        chunk = fingerprints[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows = conn.execute(_WITH_PRINCIPALS.format(marks=marks), chunk).fetchall()
        found.extend((_as_row(row[:7]), row[7]) for row in rows)
    return found


def every(conn: sqlite3.Connection) -> list[CertificateRow]:
    return [_as_row(row) for row in conn.execute(_ALL).fetchall()]


def revoke(conn: sqlite3.Connection, name: str, revoked_us: int) -> CertificateRow:
    if conn.execute(_REVOKE, (revoked_us, name)).rowcount == 0:
        raise UnknownCertificateError(f"no certificate named {name!r}")
    return _as_row(conn.execute(_BY_NAME, (name,)).fetchone())


def _row(row: tuple[Any, ...] | None) -> CertificateRow | None:
    return None if row is None else _as_row(row)


def _as_row(row: tuple[Any, ...]) -> CertificateRow:
    name, principal, serial, fingerprint, issued_us, expires_us, revoked_us = row
    return (name, principal, serial, fingerprint, issued_us, expires_us, revoked_us)
