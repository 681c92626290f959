"""The SQLite security store's source registry, TAK uids and deployment secrets (schema
version 3).

Kept apart from ``sqlite.py`` so that module stays readable: the tables, their queries
and the rules a row must keep. ``SqliteSecurityStore`` calls these inside its own
transactions; times are microseconds since the epoch, like the other tables.
"""

from __future__ import annotations

import secrets
import sqlite3
from typing import Final

from tessera.microseconds import from_us
from tessera.security.base import (
    SourceGrant,
    UidTakenError,
    UnknownCertificateError,
    UnknownPrincipalError,
)

SOURCES_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS source_grants (
    principal TEXT NOT NULL REFERENCES principals (name),
    pattern TEXT NOT NULL,
    granted_us INTEGER NOT NULL,
    PRIMARY KEY (principal, pattern)
);
CREATE TABLE IF NOT EXISTS certificate_uids (
    fingerprint TEXT PRIMARY KEY REFERENCES certificates (fingerprint),
    uid TEXT NOT NULL UNIQUE,
    bound_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"""
SECRET_BYTES: Final = 32
_GRANTS: Final = "SELECT principal, pattern, granted_us FROM source_grants "
_ALL_GRANTS: Final = _GRANTS + "ORDER BY principal, pattern"
_GRANTS_OF: Final = _GRANTS + "WHERE principal = ? ORDER BY pattern"
_UID_OF: Final = "SELECT uid FROM certificate_uids WHERE fingerprint = ?"
_HOLDER_OF: Final = "SELECT fingerprint FROM certificate_uids WHERE uid = ?"


def add_grant(conn: sqlite3.Connection, grant: SourceGrant, granted_us: int) -> bool:
    known = conn.execute("SELECT 1 FROM principals WHERE name = ?", (grant.principal,))
    if known.fetchone() is None:
        raise UnknownPrincipalError(f"no principal named {grant.principal!r}")
    added = conn.execute(
        "INSERT OR IGNORE INTO source_grants (principal, pattern, granted_us) VALUES (?, ?, ?)",
        (grant.principal, grant.pattern, granted_us),
    )
    return added.rowcount > 0


def remove_grant(conn: sqlite3.Connection, principal: str, pattern: str) -> bool:
    removed = conn.execute(
        "DELETE FROM source_grants WHERE principal = ? AND pattern = ?", (principal, pattern)
    )
    return removed.rowcount > 0


def grants(conn: sqlite3.Connection, principal: str | None) -> list[SourceGrant]:
    rows = (
        conn.execute(_ALL_GRANTS) if principal is None else conn.execute(_GRANTS_OF, (principal,))
    ).fetchall()
    return [
        SourceGrant(principal=name, pattern=pattern, granted_at=from_us(granted_us))
        for name, pattern, granted_us in rows
    ]


def certificate_uid(conn: sqlite3.Connection, fingerprint: str) -> str | None:
    row = conn.execute(_UID_OF, (fingerprint.lower(),)).fetchone()
    return None if row is None else str(row[0])


def uid_holder(conn: sqlite3.Connection, uid: str) -> str | None:
    row = conn.execute(_HOLDER_OF, (uid,)).fetchone()
    return None if row is None else str(row[0])


def bind_uid(conn: sqlite3.Connection, fingerprint: str, uid: str, bound_us: int) -> str:
    fingerprint = fingerprint.lower()
    bound = certificate_uid(conn, fingerprint)
    if bound is not None:
        return bound
    known = conn.execute("SELECT 1 FROM certificates WHERE fingerprint = ?", (fingerprint,))
    if known.fetchone() is None:
        raise UnknownCertificateError(f"no certificate with fingerprint {fingerprint}")
    if uid_holder(conn, uid) is not None:
        raise UidTakenError(f"the uid {uid!r} is bound to another certificate")
    conn.execute(
        "INSERT INTO certificate_uids (fingerprint, uid, bound_us) VALUES (?, ?, ?)",
        (fingerprint, uid, bound_us),
    )
    return uid


def secret(conn: sqlite3.Connection, name: str) -> bytes:
    # Whoever inserts first wins; everyone then reads the same value.
    conn.execute(
        "INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)",
        (name, secrets.token_bytes(SECRET_BYTES)),
    )
    row = conn.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
    return bytes(row[0])
