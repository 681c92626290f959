"""A server whose settings name a PostGIS database keeps its principals, tokens and audit
trail there: a token issued into PostGIS signs in, and the sign-in is on its trail."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tessera.security.postgis import PostgisSecurityStore
from tessera.security.sqlite import security_store_path
from tests.support import live_server


def test_the_server_signs_in_against_the_postgis_store(migrated: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_server(tmp_path, postgis_dsn=migrated) as live:
            assert isinstance(live.tessera.security, PostgisSecurityStore)
            async with live.client() as client:
                me = await client.get("/api/v1/me")
                assert me.status_code == 200
                assert me.json()["principal"]["name"] == "test-admin"
                unknown = await client.get(
                    "/api/v1/me", headers={"authorization": "Bearer tsr_0_x"}
                )
                assert unknown.status_code == 401
        # The trail outlives the server: read it straight from the database.
        store = PostgisSecurityStore(migrated)
        await store.open()
        try:
            events = await store.audit(limit=100)
        finally:
            await store.close()
        assert any(event.action == "access" for event in events)
        assert not security_store_path(tmp_path).exists()

    asyncio.run(scenario())
