"""The PostGIS schema's migrations on the machine's PostgreSQL, each test on a fresh
database: applied once and in order, safe to run twice or at once, refusing a database from
a newer Tessera, and the schema they make."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from tessera.core.model import Principal
from tessera.postgis.migrate import (
    MIGRATION_LOCK,
    Migration,
    MigrationError,
    NewerSchemaError,
    known_migrations,
    migrate,
    pending,
)
from tessera.security import postgis_audit
from tessera.security.audit_filter import AuditFilter
from tessera.security.base import AuditEvent, SecurityStoreError
from tessera.security.postgis import PostgisSecurityStore
from tests.postgis.databases import wait_for_waiters

_SCHEMA_SNAPSHOT = """
SELECT 'column', table_name || '.' || column_name || ' ' || data_type
    FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL SELECT 'index', indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL SELECT 'trigger', tgname || ' on ' || tgrelid::regclass::text
    FROM pg_trigger WHERE NOT tgisinternal
UNION ALL SELECT 'extension', extname || ' ' || extversion FROM pg_extension
UNION ALL SELECT 'migration', version || ' ' || name || ' ' || applied_at::text
    FROM schema_migrations
ORDER BY 1, 2
"""


def rows(dsn: str, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def test_the_shipped_migrations_are_numbered_from_one() -> None:
    migrations = known_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "0001_initial"
    assert "CREATE EXTENSION IF NOT EXISTS postgis" in migrations[0].sql


def test_a_fresh_database_gets_every_migration(database: str) -> None:
    names = [m.name for m in known_migrations()]
    told: list[str] = []
    assert migrate(database, applied=told.append) == names == told
    recorded = rows(database, "SELECT version, name FROM schema_migrations ORDER BY version")
    assert recorded == [(m.version, m.name) for m in known_migrations()]
    tables = {
        name
        for (name,) in rows(database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    expected = {"principals", "tokens", "certificates", "audit", "pictures", "tracks"}
    assert tables >= expected | {"overlays", "schema_migrations"}
    assert rows(database, "SELECT extname FROM pg_extension WHERE extname = 'postgis'")


def test_running_twice_changes_nothing(database: str) -> None:
    migrate(database)
    before = rows(database, _SCHEMA_SNAPSHOT)
    assert migrate(database) == []
    assert rows(database, _SCHEMA_SNAPSHOT) == before


def test_runs_at_once_apply_each_migration_once(database: str) -> None:
    # Hold the runners' lock so that all of them are surely waiting on it before any goes.
    with psycopg.connect(database, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        with ThreadPoolExecutor(max_workers=3) as pool:
            runs = [pool.submit(migrate, database) for _ in range(3)]
            wait_for_waiters(holder, 3, lambda: any(run.done() for run in runs))
            holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
            results = sorted((run.result() for run in runs), key=len)
    assert results == [[], [], [m.name for m in known_migrations()]]
    assert rows(database, "SELECT count(*) FROM schema_migrations") == [(len(known_migrations()),)]


def test_a_database_from_a_newer_tessera_is_refused(migrated: str) -> None:
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (99, '0099_future')")
    before = rows(migrated, _SCHEMA_SNAPSHOT)
    with pytest.raises(NewerSchemaError, match=r"0099 \(0099_future\).*upgrade Tessera"):
        migrate(migrated)
    assert rows(migrated, _SCHEMA_SNAPSHOT) == before

    async def opening() -> None:
        await PostgisSecurityStore(migrated).open()

    with pytest.raises(SecurityStoreError, match="0099_future"):
        asyncio.run(opening())


def test_a_migration_under_another_name_is_refused() -> None:
    known = [Migration(1, "0001_initial", ""), Migration(2, "0002_more", "")]
    assert pending(known, [(1, "0001_initial")]) == known[1:]
    assert pending(known, []) == known
    with pytest.raises(NewerSchemaError, match="0002_other"):
        pending(known, [(1, "0001_initial"), (2, "0002_other")])
    assert issubclass(NewerSchemaError, MigrationError)


def test_a_failing_migration_leaves_nothing_of_itself(database: str) -> None:
    broken = Migration(
        2, "0002_broken", "CREATE TABLE half_done (id int); SELECT no_such_function();"
    )
    with pytest.raises(psycopg.errors.UndefinedFunction):
        migrate(database, [*known_migrations(), broken])
    recorded = rows(database, "SELECT name FROM schema_migrations ORDER BY version")
    assert recorded == [(m.name,) for m in known_migrations()]
    assert rows(database, "SELECT to_regclass('half_done')") == [(None,)]
    # The lock went with the failure: the next run is not kept waiting.
    assert migrate(database) == []


def test_the_store_refuses_a_database_not_yet_migrated(database: str) -> None:
    async def opening() -> None:
        await PostgisSecurityStore(database).open()

    with pytest.raises(SecurityStoreError, match="run tessera migrate"):
        asyncio.run(opening())


def test_a_store_opening_waits_for_a_running_migration(migrated: str) -> None:
    opened = threading.Event()

    async def opening() -> None:
        store = PostgisSecurityStore(migrated)
        await store.open()
        opened.set()
        await store.close()

    with psycopg.connect(migrated, autocommit=True) as holder:
        # As a migration in progress holds it.
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        with ThreadPoolExecutor(max_workers=1) as pool:
            run = pool.submit(asyncio.run, opening())
            wait_for_waiters(holder, 1, run.done)
            assert not opened.is_set()
            holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
            run.result()
    assert opened.is_set()


def test_migrating_beside_a_working_store_disturbs_nothing(migrated: str) -> None:
    async def scenario() -> None:
        store = PostgisSecurityStore(migrated)
        await store.open()
        try:
            await store.add_principal(Principal(name="alice"))
            assert await asyncio.to_thread(migrate, migrated) == []
            await store.add_principal(Principal(name="bob", created_at=datetime.now(UTC)))
            assert [p.name for p in await store.principals()] == ["alice", "bob"]
        finally:
            await store.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("statement", ["UPDATE audit SET action = 'forged'", "DELETE FROM audit"])
def test_the_audit_trail_refuses_changes(migrated: str, statement: str) -> None:
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO audit (at, principal, action, outcome, target, address, detail) "
            "VALUES (now(), 'alice', 'kept', 'ok', '', '', '{}')"
        )
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
            conn.execute(statement)
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
            conn.execute("TRUNCATE audit")
        assert conn.execute("SELECT action FROM audit").fetchall() == [("kept",)]


def index_definitions(dsn: str, table: str) -> dict[str, str]:
    found = rows(dsn, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", (table,))
    return {str(name): str(definition) for name, definition in found}


def test_tracks_and_overlays_have_gist_indexes(migrated: str) -> None:
    tracks = index_definitions(migrated, "tracks")
    overlays = index_definitions(migrated, "overlays")
    assert 'USING gist ("position")' in tracks["tracks_position"]
    assert 'USING gist ((("position")::geometry))' in tracks["tracks_position_lonlat"]
    assert "USING gist (geometry)" in overlays["overlays_geometry"]
    assert "USING gist (((geometry)::geometry))" in overlays["overlays_geometry_lonlat"]
    for indexes, table in ((tracks, "tracks"), (overlays, "overlays")):
        assert f"{table}_pkey" in indexes and f"{table}_by_seq" in indexes


BOX_QUERY = """
SELECT id FROM tracks
WHERE picture = %s AND ST_Intersects(position::geometry, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
ORDER BY id
"""
NEAR_QUERY = """
SELECT id FROM tracks
WHERE picture = %s AND ST_DWithin(position, ST_MakePoint(%s, %s)::geography, %s)
ORDER BY id
"""


def explained(conn: psycopg.Connection[Any], query: str, params: Sequence[Any]) -> str:
    # With sequential scans priced out, the plan shows whether an index can serve the query.
    with conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        plan = conn.execute("EXPLAIN " + query, params).fetchall()
    return "\n".join(str(line) for (line,) in plan)


def test_box_and_distance_queries_find_tracks_through_the_indexes(migrated: str) -> None:
    positions = {"a": (16.0, 53.5), "b": (16.2, 53.6), "c": (18.0, 53.1), "d": (-170.0, 10.0)}
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("INSERT INTO pictures (name) VALUES ('COP'), ('REL-UKR')")
        for picture in ("COP", "REL-UKR"):
            for track_id, (lon, lat) in positions.items():
                conn.execute(
                    "INSERT INTO tracks (picture, id, body, position, updated_at, status, "
                    "identity, seq) VALUES (%s, %s, '{}', ST_MakePoint(%s, %s)::geography, "
                    "now(), 'confirmed', 'hostile', 1)",
                    (picture, track_id, lon, lat),
                )
        box = ("COP", 15.9, 53.4, 16.3, 53.7)
        assert conn.execute(BOX_QUERY, box).fetchall() == [("a",), ("b",)]
        assert "tracks_position_lonlat" in explained(conn, BOX_QUERY, box)
        near = ("REL-UKR", 18.0, 53.0, 12_000.0)
        assert conn.execute(NEAR_QUERY, near).fetchall() == [("c",)]
        assert "tracks_position " in explained(conn, NEAR_QUERY, near) + " "
        # A picture's rows go with it.
        conn.execute("DELETE FROM pictures WHERE name = 'COP'")
        assert conn.execute("SELECT DISTINCT picture FROM tracks").fetchall() == [("REL-UKR",)]


def test_overlays_are_found_by_box(migrated: str) -> None:
    shapes = {
        "line": "LINESTRING(16 53, 17 54)",
        "area": "POLYGON((20 50, 21 50, 21 51, 20 51, 20 50))",
    }
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("INSERT INTO pictures (name) VALUES ('COP')")
        for overlay_id, shape in shapes.items():
            conn.execute(
                "INSERT INTO overlays (picture, id, body, geometry, classification, "
                "releasable_to, seq) VALUES ('COP', %s, '{}', ST_GeogFromText(%s), "
                "'UNCLASSIFIED', %s, 1)",
                (overlay_id, f"SRID=4326;{shape}", ["NATO", "UKR"]),
            )
        query = (
            "SELECT id FROM overlays WHERE picture = 'COP' AND "
            "ST_Intersects(geometry::geometry, ST_MakeEnvelope(%s, %s, %s, %s, 4326))"
        )
        assert conn.execute(query, (16.4, 53.4, 16.6, 53.6)).fetchall() == [("line",)]
        assert conn.execute(query, (20.5, 50.5, 22.0, 52.0)).fetchall() == [("area",)]
        assert "overlays_geometry_lonlat" in explained(conn, query, (20.5, 50.5, 22.0, 52.0))


def test_audit_filters_read_through_their_indexes(migrated: str) -> None:
    indexes = index_definitions(migrated, "audit")
    for name in ("audit_by_action", "audit_by_principal", "audit_by_outcome"):
        assert indexes[name].endswith(", seq)"), indexes[name]
    assert 'COLLATE "C"' in indexes["audit_by_action"]
    with psycopg.connect(migrated, autocommit=True) as conn:
        # A trail of many actions, principals and outcomes, so each filter is selective.
        conn.execute(
            "INSERT INTO audit (at, principal, action, outcome, target, address, detail) "
            "SELECT now(), 'p' || (i % 40), 'family' || (i % 200) || '.act' || (i % 7), "
            "CASE WHEN i % 50 = 0 THEN 'denied' ELSE 'ok' END, '', '', '{}' "
            "FROM generate_series(1, 20000) AS i"
        )
        conn.execute("ANALYZE audit")
        for where, index in (
            (AuditFilter(action="family3.act3"), "audit_by_action"),
            (AuditFilter(action="family3."), "audit_by_action"),
            (AuditFilter(principal="p7"), "audit_by_principal"),
            (AuditFilter(outcome="denied"), "audit_by_outcome"),
        ):
            query, params = postgis_audit.select(where, 0, 100)
            assert index in explained(conn, query, params), where


def test_the_audit_indexes_come_to_a_trail_made_before_them(database: str) -> None:
    # A database as the Tessera before audit filters left it, with events in it.
    before = [m for m in known_migrations() if m.version <= 3]
    migrate(database, before)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO audit (at, principal, action, outcome, target, address, detail) "
            "VALUES (now(), 'alice', 'export', 'denied', 'COP', '', '{}')"
        )
    assert migrate(database) == ["0004_audit_filters", "0005_sources", "0006_fencing"]

    async def read() -> list[AuditEvent]:
        store = PostgisSecurityStore(database)
        await store.open()
        try:
            return await store.audit(AuditFilter(action="export", outcome="denied"))
        finally:
            await store.close()

    (kept,) = asyncio.run(read())
    assert (kept.principal, kept.target) == ("alice", "COP")
