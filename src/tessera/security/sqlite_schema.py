"""The embedded security store's file (``sqlite.py``): its schema, grown by numbered steps
(``PRAGMA user_version``), the connection every process opens on it, and the write
transaction taken up front."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from tessera.security import certstore, sqlite_audit, sqlite_enrollment, sqlite_sources
from tessera.security.base import SecurityStoreError
from tessera.wal_files import connect_wal, write_transaction

BUSY_TIMEOUT_MS: Final = 10_000
SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS principals (
    name TEXT PRIMARY KEY,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    principal TEXT NOT NULL REFERENCES principals (name),
    secret_hash TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    expires_us INTEGER,
    revoked_us INTEGER
);
CREATE INDEX IF NOT EXISTS tokens_by_principal ON tokens (principal, created_us);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us INTEGER NOT NULL,
    principal TEXT,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    target TEXT NOT NULL,
    address TEXT NOT NULL,
    detail BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at_us);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
"""
# Step i brings a store from version i to i + 1. Every statement is idempotent (IF NOT
# EXISTS), so a step that ran without its version being recorded can safely run again.
MIGRATIONS: Final = (
    SCHEMA,
    certstore.CERTIFICATES_SCHEMA,
    sqlite_audit.AUDIT_FILTER_INDEXES,
    sqlite_sources.SOURCES_SCHEMA,
    sqlite_enrollment.ENROLLMENT_SCHEMA,
)
SCHEMA_VERSION: Final = len(MIGRATIONS)


def connect(path: Path) -> sqlite3.Connection:
    # busy_timeout: switching to WAL and creating the schema wait for another process
    # that is doing the same. FULL: every commit is fsynced before it returns, so an audit
    # event written is kept.
    conn = connect_wal(path, synchronous="FULL", busy_timeout_ms=BUSY_TIMEOUT_MS, shared=True)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def create_schema(conn: sqlite3.Connection) -> None:
    # One transaction: processes opening a fresh file together take turns.
    with write_transaction(conn):
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise SecurityStoreError(
                f"the security store has schema version {version}; this Tessera knows "
                f"up to {SCHEMA_VERSION}"
            )
        for script in MIGRATIONS[version:]:
            for statement in _statements(script):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _statements(script: str) -> Iterator[str]:
    """Split the schema into statements (a trigger body holds its own semicolons)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
