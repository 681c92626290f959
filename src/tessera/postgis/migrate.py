"""Migrations of the PostGIS schema: numbered SQL files applied in order, each in its own
transaction and recorded in ``schema_migrations``.

A session-level advisory lock makes runs take turns, so two ``tessera migrate`` at once
apply each migration once; a server checking the schema takes the same lock shared, so it
never sees a run half done. A database holding a migration this Tessera does not know
(made by a newer one) is refused before anything is applied.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Final

import psycopg
from psycopg.rows import TupleRow

from tessera.postgis.connection import session_conninfo

_PACKAGE: Final = "tessera.postgis.migrations"
_FILE_NAME: Final = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
# One key for every Tessera database; advisory locks are scoped to their database.
MIGRATION_LOCK: Final = 0x7465_7373_6572_6131
# A DDL statement waiting for a table lock blocks every query queued behind it, so on a
# live database a migration gives up rather than stall the server.
LOCK_TIMEOUT: Final = "10s"

_CREATE_LEDGER: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
_LEDGER_EXISTS: Final = "SELECT to_regclass('schema_migrations') IS NOT NULL"
_APPLIED: Final = "SELECT version, name FROM schema_migrations ORDER BY version"
_RECORD: Final = "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)"
_SET_LOCK_TIMEOUT: Final = "SELECT set_config('lock_timeout', %s, true)"


class MigrationError(ValueError):
    """The schema cannot be brought up to date; the message says why."""


class NewerSchemaError(MigrationError):
    """The database holds migrations this Tessera does not know."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str  # e.g. 0001_initial
    sql: str


def known_migrations() -> tuple[Migration, ...]:
    """The migrations shipped in the package, in order; numbered 1, 2, ... without gaps."""
    found: list[Migration] = []
    for entry in resources.files(_PACKAGE).iterdir():
        match = _FILE_NAME.fullmatch(entry.name)
        if match is not None:
            name = entry.name.removesuffix(".sql")
            found.append(Migration(int(match.group(1)), name, entry.read_text("utf-8")))
    found.sort(key=lambda migration: migration.version)
    if not found:
        # Else a copy installed without its SQL files would call every database up to date.
        raise MigrationError(f"no migrations found in {_PACKAGE}: is it installed whole?")
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"the migrations are not numbered 1 to {len(found)}: {versions}")
    return tuple(found)


def pending(known: Sequence[Migration], applied: Iterable[tuple[int, str]]) -> list[Migration]:
    """What is left to apply, given the rows of ``schema_migrations``; refuses a database
    that holds anything ``known`` does not."""
    by_version = {migration.version: migration for migration in known}
    done: set[int] = set()
    for version, name in applied:
        migration = by_version.get(version)
        if migration is None or migration.name != name:
            latest = known[-1].name if known else "none"
            raise NewerSchemaError(
                f"the database has migration {version:04d} ({name}), which this Tessera does "
                f"not know (it knows up to {latest}): upgrade Tessera, or use another database"
            )
        done.add(version)
    return [migration for migration in known if migration.version not in done]


def migrate(
    dsn: str,
    migrations: Sequence[Migration] | None = None,
    *,
    applied: Callable[[str], None] | None = None,
) -> list[str]:
    """Bring the database up to date; the names of the migrations applied (none when it
    already was). ``applied`` is told each name as soon as its transaction commits."""
    known = known_migrations() if migrations is None else migrations
    with psycopg.connect(session_conninfo(dsn), autocommit=True) as conn:
        # Held until unlocked or the connection ends, even if a migration fails.
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            return _apply(conn, known, applied)
        finally:
            if not conn.broken:
                conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


def _apply(
    conn: psycopg.Connection[TupleRow],
    known: Sequence[Migration],
    applied: Callable[[str], None] | None,
) -> list[str]:
    # Only under the lock: two CREATE TABLE IF NOT EXISTS at once can still collide.
    conn.execute(_CREATE_LEDGER)
    rows = conn.execute(_APPLIED).fetchall()
    todo = pending(known, ((int(version), str(name)) for version, name in rows))
    for migration in todo:
        with conn.transaction():
            conn.execute(_SET_LOCK_TIMEOUT, (LOCK_TIMEOUT,))
            # A whole file of statements: sent as one simple query, with no parameters.
            conn.execute(migration.sql.encode())
            conn.execute(_RECORD, (migration.version, migration.name))
        if applied is not None:
            applied(migration.name)
    return [migration.name for migration in todo]


async def check_schema(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    """Refuse a database that ``migrate`` has not brought up to date (or that a newer
    Tessera has migrated further); waits for a migration that is running."""
    known = known_migrations()
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (MIGRATION_LOCK,))
        exists = await (await conn.execute(_LEDGER_EXISTS)).fetchone()
        rows = await (await conn.execute(_APPLIED)).fetchall() if exists and exists[0] else []
    missing = pending(known, ((int(version), str(name)) for version, name in rows))
    if missing:
        names = ", ".join(migration.name for migration in missing)
        raise MigrationError(f"the database lacks migrations {names}: run tessera migrate")
