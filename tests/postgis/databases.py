"""Scratch databases on the machine's PostgreSQL for the PostGIS tests: each created under a
random name and dropped afterwards (connections still open are ended first).

Without the server, or without PostGIS installed (``make postgis``), the tests skip; with
CI=true they fail instead (``tests.services``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Final

import psycopg
import pytest
from psycopg import sql

from tessera.postgis.migrate import migrate
from tests.services import in_ci, require_service

HOST: Final = "127.0.0.1"
PORT: Final = 5432
ADMIN_DSN: Final = f"postgresql://postgres@{HOST}:{PORT}/postgres"
_POSTGIS_AVAILABLE: Final = "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
_WAITING_FOR_LOCK: Final = """
SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND NOT granted
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def require_postgis() -> None:
    """PostgreSQL running on HOST:PORT, with the PostGIS extension installed."""
    require_service("PostgreSQL", HOST, PORT)
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        if conn.execute(_POSTGIS_AVAILABLE).fetchone() is None:
            reason = "PostGIS is not installed for PostgreSQL (make postgis installs it)"
            if in_ci():
                pytest.fail(f"{reason}; CI must provide it")
            pytest.skip(reason)


def dsn_of(database: str) -> str:
    return f"postgresql://postgres@{HOST}:{PORT}/{database}"


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new, empty database; its DSN."""
    require_postgis()
    name = f"tessera_test_{secrets.token_hex(8)}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield dsn_of(name)
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


class MigratedDatabases:
    """One migrated scratch database per location, made when first asked for, so two
    stores built on one location share it; each dropped when ``stack`` closes."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._dsns: dict[Path, str] = {}

    def dsn(self, location: Path) -> str:
        if location not in self._dsns:
            dsn = self._stack.enter_context(scratch_database())
            migrate(dsn)
            self._dsns[location] = dsn
        return self._dsns[location]


@contextmanager
def migrated_databases() -> Iterator[MigratedDatabases]:
    # Checked up front, so a test without the server skips before it starts.
    require_postgis()
    with ExitStack() as stack:
        yield MigratedDatabases(stack)


def wait_for_waiters(
    conn: psycopg.Connection[tuple[Any, ...]], count: int, ended: Callable[[], bool]
) -> None:
    """Until ``count`` sessions wait for an advisory lock in ``conn``'s database, or
    ``ended`` says a waiter stopped early (its own result then tells why)."""
    while not ended():
        (waiting,) = conn.execute(_WAITING_FOR_LOCK).fetchone() or (0,)
        if waiting >= count:
            return
        time.sleep(0.01)
