"""What cluster tests share: a migrated scratch PostGIS database, a lease bucket of
their own in NATS."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator

import nats
import pytest
from nats.js.errors import NotFoundError

from tessera.postgis.migrate import migrate
from tests.cluster.processes import NATS_URL
from tests.postgis.databases import scratch_database
from tests.services import require_service


@pytest.fixture
def migrated() -> Iterator[str]:
    with scratch_database() as dsn:
        migrate(dsn)
        yield dsn


@pytest.fixture
def bucket() -> Iterator[str]:
    """A lease bucket's name of the test's own, the bucket removed afterwards."""
    require_service("NATS", "127.0.0.1", 4222)
    name = f"TEST_LEASE_{secrets.token_hex(4).upper()}"
    yield name

    async def remove() -> None:
        nc = await nats.connect(NATS_URL)
        try:
            with contextlib.suppress(NotFoundError):  # never made (refused settings)
                await nc.jetstream().delete_key_value(name)
        finally:
            await nc.close()

    asyncio.run(remove())
