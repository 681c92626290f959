"""What the PostGIS security store does beyond the shared contract
(tests/security/test_store_contract.py): text PostgreSQL cannot hold, and a lost
connection."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import psycopg
import pytest

from tessera.core.model import Principal
from tessera.security.base import AuditEvent, SecurityStoreError, TokenRecord
from tessera.security.postgis import PostgisSecurityStore

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def end_store_connections(dsn: str) -> int:
    """End the server side of every Tessera connection to the database, as a restart does."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        ended = conn.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'tessera'"
        ).fetchone()
    return 0 if ended is None else int(ended[0])


def test_an_audit_event_with_a_nul_is_kept(migrated: str) -> None:
    # A URL path may carry %00: refusing the event would jam the trail's retries.
    sent = AuditEvent(
        at=START,
        principal="alice",
        action="access",
        outcome="denied",
        target="GET /api/v1/tracks/a\x00b",
        detail={"path": "a\x00b"},
    )

    async def scenario() -> None:
        store = PostgisSecurityStore(migrated)
        await store.open()
        try:
            await store.append_audit([sent])
            (kept,) = await store.audit()
            assert kept.target == "GET /api/v1/tracks/a\ufffdb"
            assert kept.detail == {"path": "a\x00b"}
            assert await store.principal("a\x00b") is None
            assert await store.token("a\x00b") is None
            await store.add_principal(Principal(name="alice"))
            bad = TokenRecord(id="a\x00b", principal="alice", secret_hash="", created_at=START)
            with pytest.raises(SecurityStoreError, match="NUL"):
                await store.add_token(bad)
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_lost_connection_is_opened_again(migrated: str) -> None:
    async def scenario() -> None:
        store = PostgisSecurityStore(migrated)
        await store.open()
        try:
            await store.add_principal(Principal(name="alice"))
            # A read finds the connection gone and is simply made again on a new one.
            assert end_store_connections(migrated) == 1
            assert [p.name for p in await store.principals()] == ["alice"]
            # A write is not repeated (it might have been made): it fails, the next works.
            assert end_store_connections(migrated) == 1
            with pytest.raises(psycopg.OperationalError):
                await store.add_principal(Principal(name="bob"))
            await store.add_principal(Principal(name="bob"))
            assert [p.name for p in await store.principals()] == ["alice", "bob"]
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_closed_store_refuses_calls(migrated: str) -> None:
    async def scenario() -> None:
        store = PostgisSecurityStore(migrated)
        await store.open()
        await store.close()
        with pytest.raises(RuntimeError, match="not open"):
            await store.principals()

    asyncio.run(scenario())
