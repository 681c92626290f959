"""A server whose settings name a PostGIS database keeps its principals, tokens and audit
trail there (a token issued into PostGIS signs in, and the sign-in is on its trail), and
its pictures: written as it fuses, loaded again when it restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tessera.security.postgis import PostgisSecurityStore
from tessera.security.sqlite import security_store_path
from tessera.store.base import TrackQuery
from tessera.store.postgis import PostgisTrackStore
from tests.support import live_server, report_doc

UNCLASSIFIED = {"classification": "UNCLASSIFIED"}


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


def test_the_server_keeps_its_pictures_in_postgis_across_a_restart(
    migrated: str, tmp_path: Path
) -> None:
    docs = [report_doc(subject=f"unit-{i}", source=f"unit-{i}", lat=53 + i / 100) for i in range(5)]
    overlay = {"name": "OP", "kind": "point", "coordinates": [[18.0, 53.0]], "label": UNCLASSIFIED}

    async def first() -> tuple[int, set[str]]:
        async with live_server(tmp_path, postgis_dsn=migrated) as live, live.client() as client:
            posted = await client.post("/api/v1/reports", json=docs)
            drawn = await client.post("/api/v1/overlays", json=overlay)
            assert drawn.status_code == 201
            assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)
            _, tracks = live.tessera.store.tracks("COP", TrackQuery())
            assert posted.status_code == 202 and len(tracks) == 5
            return live.tessera.store.seq("COP"), {track.id for track in tracks}

    async def stored(dsn: str) -> PostgisTrackStore:
        store = PostgisTrackStore(dsn, ["COP"], writer=False)
        await store.open()
        return store

    async def second(seq_before: int, ids: set[str]) -> None:
        # What the first run wrote is in the database, with the journal position it covers.
        written = await stored(migrated)
        try:
            _, tracks = written.tracks("COP", TrackQuery())
            assert {track.id for track in tracks} == ids
            assert len(written.overlays("COP", TrackQuery())[1]) == 1
            assert written.seq("COP") == seq_before
            assert written.journal_seq("COP") > 0
        finally:
            await written.close()
        async with live_server(tmp_path, postgis_dsn=migrated) as live, live.client() as client:
            listed = (await client.get("/api/v1/tracks")).json()["features"]
            assert {feature["id"] for feature in listed} == ids
            assert len((await client.get("/api/v1/overlays")).json()["features"]) == 1
            # Rebuilt from the journal on top of the stored picture: the seq runs on.
            assert live.tessera.store.seq("COP") >= seq_before

    seq_before, ids = asyncio.run(first())
    asyncio.run(second(seq_before, ids))
