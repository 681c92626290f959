"""A migrated scratch PostGIS database per cluster test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tessera.postgis.migrate import migrate
from tests.postgis.databases import scratch_database


@pytest.fixture
def migrated() -> Iterator[str]:
    with scratch_database() as dsn:
        migrate(dsn)
        yield dsn
