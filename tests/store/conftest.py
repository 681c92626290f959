"""A migrated scratch database for the PostGIS store's tests, dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tessera.postgis.migrate import migrate
from tests.postgis.databases import scratch_database


@pytest.fixture
def migrated() -> Iterator[str]:
    """The DSN of a new database with every migration applied."""
    with scratch_database() as dsn:
        migrate(dsn)
        yield dsn
