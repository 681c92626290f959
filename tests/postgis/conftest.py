"""Fixtures for the PostGIS tests: a fresh database per test, dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tessera.postgis.migrate import migrate
from tests.postgis.databases import scratch_database


@pytest.fixture
def database() -> Iterator[str]:
    """The DSN of a new, empty database."""
    with scratch_database() as dsn:
        yield dsn


@pytest.fixture
def migrated(database: str) -> str:
    """The DSN of a new database with every migration applied."""
    migrate(database)
    return database
