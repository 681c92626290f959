"""What the PostGIS track store does beyond the shared contract (test_store_contract.py):
loading what an earlier store wrote, the journal mark, the database's own box queries,
coalescing, and writes that fail."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import psycopg
import pytest

from tessera.core.overlays import Overlay, OverlayKind
from tessera.store import postgis_rows
from tessera.store.base import TrackQuery
from tessera.store.postgis import PostgisStoreError, PostgisTrackStore
from tests.postgis.databases import scratch_database
from tests.store.builders import (
    every_kind_of_overlay,
    full_track,
    opened,
    overlay,
    picture_state,
    point,
    square,
    track,
)

COP, PARTNER = "COP", "REL-UKR"
PICTURES = (COP, PARTNER)


def sql(dsn: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def test_a_new_store_loads_what_was_written(migrated: str) -> None:
    async def scenario() -> None:
        async with opened(migrated, PICTURES, writer=True) as writer:
            writer.apply(COP, 2, [full_track("t1"), full_track("t2", 10.0, -170.0)], [])
            writer.apply_overlays(COP, 7, every_kind_of_overlay(), [])
            writer.apply(COP, 9, [track("t3")], ["t2"])
            writer.apply_overlays(COP, 10, [], ["zone"])
            writer.apply(PARTNER, 4, [full_track("t1", 0.0, 0.0)], [])
            await writer.flush()
            assert writer.pending == 0
            written = {name: picture_state(writer, name) for name in PICTURES}
        assert written[COP][0] == 10
        assert [t.id for t in written[COP][1]] == ["t1", "t3"]
        assert len(written[COP][2]) == 4
        for writes in (False, True):
            async with opened(migrated, PICTURES, writer=writes) as again:
                assert {name: picture_state(again, name) for name in PICTURES} == written
                assert again.journal_seq(COP) == 0

    asyncio.run(scenario())


def test_the_journal_mark_is_written_with_the_rows(migrated: str) -> None:
    async def scenario() -> None:
        async with opened(migrated, PICTURES, writer=True) as writer:
            writer.apply(COP, 3, [track("a")], [])
            writer.mark_journal(42)
            assert writer.journal_seq(COP) == 0  # not written yet
            await writer.flush()
            assert writer.journal_seq(COP) == writer.journal_seq(PARTNER) == 42
        async with opened(migrated, PICTURES, writer=False) as reader:
            assert reader.journal_seq(COP) == reader.journal_seq(PARTNER) == 42
            assert reader.seq(COP) == 3
            assert reader.seq(PARTNER) == 0

    asyncio.run(scenario())
    rows = sql(migrated, "SELECT name, seq, journal_seq FROM pictures ORDER BY name")
    assert rows == [(COP, 3, 42), (PARTNER, 0, 42)]
    assert sql(migrated, "SELECT picture, id, seq FROM tracks") == [(COP, "a", 3)]


def test_a_reader_writes_nothing(migrated: str) -> None:
    async def scenario() -> None:
        async with opened(migrated, PICTURES, writer=False) as reader:
            # The change bus feeds a reader's replica; the database is the writer's.
            reader.apply(COP, 5, [track("a")], [])
            reader.apply_overlays(COP, 6, [point("poi", 1.0, 2.0)], [])
            assert reader.seq(COP) == 6
            assert reader.track(COP, "a") == track("a")
            with pytest.raises(PostgisStoreError, match="reader"):
                reader.mark_journal(1)
            await reader.flush()
            assert reader.pending == 0

    asyncio.run(scenario())
    assert sql(migrated, "SELECT count(*) FROM pictures") == [(0,)]
    assert sql(migrated, "SELECT count(*) FROM tracks") == [(0,)]


def test_a_gateways_copy_keeps_no_lineage_and_reads_it_from_the_database(
    migrated: str,
) -> None:
    lineage = tuple(f"report-{i}" for i in range(200))
    written = track("t1", lineage=lineage, report_count=200)

    async def scenario() -> None:
        async with opened(migrated, PICTURES, writer=True) as writer:
            writer.apply(COP, 1, [written], [])
            await writer.flush()
        async with opened(migrated, PICTURES, writer=False, lineage_in_memory=False) as reader:
            kept = reader.track(COP, "t1")
            assert kept is not None and kept.lineage == () and kept.report_count == 200
            assert await reader.with_lineage(COP, "t1") == written
            # Followed from the change feed, before the worker has written it: what is kept.
            fresh = track("t2", lineage=("report-x",))
            reader.apply(COP, 2, [fresh], [])
            assert reader.track(COP, "t2") == track("t2")
            assert await reader.with_lineage(COP, "t2") == track("t2")
            # The database away for a moment: the kept track, not an error.
            end_store_connections(migrated)
            assert await reader.with_lineage(COP, "t1") == reader.track(COP, "t1")
            assert await reader.with_lineage(COP, "t1") == written

    asyncio.run(scenario())


def test_the_store_must_be_open(migrated: str) -> None:
    async def scenario() -> None:
        store = PostgisTrackStore(migrated, PICTURES, writer=True)
        with pytest.raises(PostgisStoreError, match="new, not open"):
            store.apply(COP, 1, [track("a")], [])
        await store.open()
        with pytest.raises(PostgisStoreError, match="opened once"):
            await store.open()
        with pytest.raises(KeyError):
            await store.query_tracks("nobody", (0.0, 0.0, 1.0, 1.0))
        await store.close()
        with pytest.raises(PostgisStoreError, match="closed, not open"):
            store.apply_overlays(COP, 1, [], [])
        await store.close()

    asyncio.run(scenario())


def test_a_database_without_the_schema_is_refused() -> None:
    async def scenario(dsn: str) -> None:
        store = PostgisTrackStore(dsn, PICTURES, writer=True)
        with pytest.raises(PostgisStoreError, match="tessera migrate"):
            await store.open()

    with scratch_database() as dsn:
        asyncio.run(scenario(dsn))


def test_text_jsonb_cannot_hold_does_not_stall_the_writer(migrated: str) -> None:
    async def scenario() -> None:
        async with opened(migrated, PICTURES, writer=True) as writer:
            nul = point("poi", 1.0, 2.0, remarks="a\x00b \\u0000", author="x\x00")
            writer.apply_overlays(COP, 1, [nul], [])
            await writer.flush()
            assert writer.healthy
        async with opened(migrated, PICTURES, writer=False) as reader:
            kept = reader.overlay(COP, "poi")
            assert kept is not None
            assert (kept.remarks, kept.author) == ("a\ufffdb \\u0000", "x\ufffd")

    asyncio.run(scenario())


def test_waiting_changes_are_coalesced(migrated: str) -> None:
    async def scenario() -> None:
        async with opened(migrated, PICTURES, writer=True) as writer:
            # No await in between: the writer cannot take anything until the loop turns.
            seq = 0
            for step in range(200):
                seq += 1
                moved = [track(f"t{i}", lat=step / 10, lon=i / 10) for i in range(50)]
                writer.apply(COP, seq, moved, [])
                seq += 1
                # Short-lived tracks, never written: forgotten, not queued as deletions.
                writer.apply(COP, seq, [track(f"brief-{step}")], [f"brief-{step - 1}"])
            seq += 1
            writer.apply(COP, seq, [], [f"brief-{step}", "t0"])
            writer.mark_journal(1_000)
            assert writer.pending == 49
            await writer.flush()
            assert writer.pending == 0
            final = picture_state(writer, COP)
        assert final[0] == 401
        assert [t.position.lat for t in final[1]] == [19.9] * 49
        async with opened(migrated, PICTURES, writer=False) as reader:
            assert picture_state(reader, COP) == final
            assert reader.journal_seq(COP) == 1_000

    asyncio.run(scenario())
    assert sql(migrated, "SELECT count(*), min(seq), max(seq) FROM tracks") == [(49, 399, 399)]


def healthy(store: PostgisTrackStore) -> bool:
    # A call, so the type checker does not carry one answer over to the next.
    return store.healthy


async def wait_for_failures(store: PostgisTrackStore, count: int) -> None:
    # Failures are counted, not signalled: polling waits for the count, not for a time.
    while store.failures < count:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


def test_a_refused_write_is_retried_and_reported(migrated: str) -> None:
    refuse = "ALTER TABLE tracks ADD CONSTRAINT tracks_refused CHECK (false) NOT VALID"

    async def scenario() -> None:
        async with opened(migrated, PICTURES, writer=True) as writer:
            writer.apply(COP, 1, [track("a"), track("b")], [])
            await writer.flush()
            sql(migrated, refuse)
            writer.apply(COP, 2, [track("a", 1.0, 1.0)], ["b"])
            await wait_for_failures(writer, 2)
            assert not healthy(writer)
            assert "tracks_refused" in (writer.last_error or "")
            with pytest.raises(TimeoutError):
                await writer.flush(timeout=0.05)
            # Later changes wait behind the refused ones; the replica has them all.
            writer.apply(COP, 3, [track("c")], ["a"])
            writer.apply_overlays(COP, 4, [point("poi", 1.0, 2.0)], [])
            writer.mark_journal(9)
            assert writer.pending >= 4
            assert sql(migrated, "SELECT id FROM tracks ORDER BY id") == [("a",), ("b",)]
            assert sql(migrated, "SELECT seq, journal_seq FROM pictures WHERE name = 'COP'") == [
                (1, 0)
            ]
            sql(migrated, "ALTER TABLE tracks DROP CONSTRAINT tracks_refused")
            await writer.flush()
            assert healthy(writer)
            assert "tracks_refused" in (writer.last_error or "")
            final = picture_state(writer, COP)
        async with opened(migrated, PICTURES, writer=False) as reader:
            assert picture_state(reader, COP) == final
            assert [t.id for t in final[1]] == ["c"]
            assert reader.journal_seq(COP) == 9

    asyncio.run(scenario())


def end_store_connections(dsn: str) -> int:
    """End every Tessera connection to the database, waiting until each has ended."""
    rows = sql(
        dsn,
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 60000)) "
        "FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = 'tessera'",
    )
    return int(rows[0][0])


def test_a_lost_connection_is_replaced(migrated: str) -> None:
    async def scenario() -> None:
        async with opened(migrated, PICTURES, writer=True) as writer:
            writer.apply(COP, 1, [track("a")], [])
            await writer.flush()
            assert await writer.query_tracks(COP, (0.0, 0.0, 20.0, 60.0)) == [track("a")]
            # The writer's connection and the one queries use.
            assert end_store_connections(migrated) == 2
            writer.apply(COP, 2, [track("b")], [])
            await writer.flush()
            assert writer.failures == 1
            assert writer.healthy
            found = await writer.query_tracks(COP, (0.0, 0.0, 20.0, 60.0))
            assert [t.id for t in found] == ["a", "b"]

    asyncio.run(scenario())


def test_closing_gives_up_on_a_write_that_keeps_failing(migrated: str) -> None:
    async def scenario() -> None:
        writer = PostgisTrackStore(migrated, PICTURES, writer=True, retry_initial_s=0.01)
        await writer.open()
        sql(migrated, "ALTER TABLE tracks ADD CONSTRAINT tracks_refused CHECK (false) NOT VALID")
        writer.apply(COP, 1, [track("a")], [])
        await wait_for_failures(writer, 1)
        await writer.close(timeout=0.05)
        assert writer.pending == 1

    asyncio.run(scenario())
    assert sql(migrated, "SELECT count(*) FROM tracks") == [(0,)]


def test_the_database_box_queries_agree_with_the_replica(migrated: str) -> None:
    # Tracks on a grid whose lines the boxes' edges follow, so edges are tested; overlays
    # between them.
    grid = [(lat, lon) for lat in range(-75, 76, 15) for lon in range(-180, 181, 15)]
    tracks = [track(f"t{lat}_{lon}", float(lat), float(lon)) for lat, lon in grid]
    overlays = [
        square(f"sq{lat}_{lon}", lon + 7.5, lat + 7.5)
        if (lat + lon) % 2
        else point(f"pt{lat}_{lon}", lon + 7.5, lat + 7.5)
        for lat, lon in grid
        if lon < 180 and lat < 75
    ]
    boxes = [
        (-180.0, -90.0, 180.0, 90.0),
        (0.0, 0.0, 45.0, 30.0),
        (-30.0, -45.0, -15.0, 60.0),
        (150.0, -60.0, -150.0, 15.0),
        (165.0, -90.0, -180.0, 90.0),
        (180.0, 0.0, 180.0, 45.0),
        (10.0, 10.0, 11.0, 11.0),
        (20.0, 40.0, 10.0, 30.0),
    ]

    async def scenario() -> None:
        async with opened(migrated, PICTURES, writer=True) as writer:
            writer.apply(COP, 1, tracks, [])
            writer.apply_overlays(COP, 2, overlays, [])
            await writer.flush()
        async with opened(migrated, PICTURES, writer=False) as reader:
            for box in boxes:
                _, wanted = reader.tracks(COP, TrackQuery(bbox=box))
                found = await reader.query_tracks(COP, box)
                assert found == sorted(wanted, key=lambda t: t.id), box
                _, shapes = reader.overlays(COP, TrackQuery(bbox=box))
                assert await reader.query_overlays(COP, box) == sorted(shapes, key=lambda o: o.id)
            assert len(await reader.query_tracks(COP, boxes[0])) == len(tracks)
            assert await reader.query_tracks(PARTNER, boxes[0]) == []

    asyncio.run(scenario())


def test_the_database_answers_with_the_shape_itself(migrated: str) -> None:
    across = overlay("across", OverlayKind.CIRCLE, [(179.95, 10.0)], radius_m=20_000.0)
    diagonal = overlay("diagonal", OverlayKind.LINE, [(0.0, 0.0), (10.0, 10.0)])
    route = overlay("route", OverlayKind.LINE, [(179.0, -5.0), (-179.0, -5.0)])

    async def scenario() -> None:
        async with opened(migrated, PICTURES, writer=True) as writer:
            writer.apply_overlays(COP, 1, [across, diagonal, route], [])
            await writer.flush()

            async def found(box: tuple[float, float, float, float]) -> list[str]:
                return [o.id for o in await writer.query_overlays(COP, box)]

            # The circle reaches past the antimeridian; split there, it spans no more.
            assert await found((-179.95, 9.9, -179.8, 10.1)) == ["across"]
            assert await found((-179.5, -6.0, -179.2, -4.0)) == ["route"]
            assert await found((0.0, 9.0, 10.0, 11.0)) == ["diagonal"]
            assert await found((-10.0, -6.0, -5.0, -4.0)) == []
            # The line's bounding box meets this box; the line does not, and the replica
            # answers the same.
            assert await found((8.0, 0.0, 10.0, 2.0)) == []
            assert writer.overlays(COP, TrackQuery(bbox=(8.0, 0.0, 10.0, 2.0)))[1] == []

    asyncio.run(scenario())


def random_shapes(rng: random.Random, count: int) -> list[Overlay]:
    """Lines, triangles, circles and corridors of every size, some across the
    antimeridian (positions within a few degrees of one another, wrapped at 180)."""

    def near(lon: float, lat: float, spread: float) -> tuple[float, float]:
        east = lon + rng.uniform(-spread, spread)
        return (east + 540.0) % 360.0 - 180.0, max(
            -70.0, min(70.0, lat + rng.uniform(-spread, spread))
        )

    shapes: list[Overlay] = []
    for index in range(count):
        lon = rng.choice([rng.uniform(-180.0, 180.0), rng.uniform(175.0, 185.0)])
        lat, spread = rng.uniform(-60.0, 60.0), rng.choice([0.1, 1.0, 5.0])
        kind = rng.choice(
            [OverlayKind.LINE, OverlayKind.AREA, OverlayKind.CIRCLE, OverlayKind.CORRIDOR]
        )
        name = f"s{index:03d}"
        if kind is OverlayKind.CIRCLE:
            radius = rng.uniform(100.0, 300_000.0)
            shapes.append(overlay(name, kind, [near(lon, lat, 0.0)], radius_m=radius))
            continue
        positions = [near(lon, lat, spread) for _ in range(3)]
        if kind is OverlayKind.AREA:
            positions.append(positions[0])
        width = rng.uniform(100.0, 50_000.0) if kind is OverlayKind.CORRIDOR else None
        shapes.append(overlay(name, kind, positions, width_m=width))
    return shapes


def test_the_replica_and_the_database_agree_on_random_shapes(migrated: str) -> None:
    rng = random.Random(20260504)
    shapes = random_shapes(rng, 400)
    boxes: list[tuple[float, float, float, float]] = []
    for _ in range(300):
        # Near a shape (on it, or beside it), or anywhere.
        lon, lat = rng.choice(shapes).coordinates[0][:2]
        size = rng.choice([0.05, 0.5, 2.0, 10.0])
        west = rng.choice([lon + rng.uniform(-3.0, 1.0), rng.uniform(-180.0, 180.0)])
        west = (west + 540.0) % 360.0 - 180.0
        south = max(-90.0, min(lat + rng.uniform(-3.0, 1.0), 80.0))
        boxes.append((west, south, (west + size + 540.0) % 360.0 - 180.0, south + size))

    async def scenario() -> None:
        async with opened(migrated, PICTURES, writer=True) as writer:
            writer.apply_overlays(COP, 1, shapes, [])
            await writer.flush()
            hits = 0
            for box in boxes:
                replica = sorted(o.id for o in writer.overlays(COP, TrackQuery(bbox=box))[1])
                assert [o.id for o in await writer.query_overlays(COP, box)] == replica, box
                hits += len(replica)
            assert hits > len(boxes)  # the boxes find shapes

    asyncio.run(scenario())


def explain(dsn: str, plan: tuple[str, tuple[Any, ...]] | None) -> str:
    assert plan is not None
    query, params = plan
    rows = sql(dsn, "EXPLAIN (FORMAT JSON) " + query, params)
    return str(rows[0][0])


def test_the_box_queries_use_the_spatial_indexes(migrated: str) -> None:
    tracks = [track(f"t{i}", (i % 170) - 85.0 + 0.5, (i * 7 % 359) - 179.5) for i in range(6_000)]
    overlays = [
        square(f"o{i}", (i * 13 % 350) - 175.0, (i % 160) - 80.0, 0.2) for i in range(3_000)
    ]

    async def scenario() -> None:
        async with opened(migrated, PICTURES, writer=True) as writer:
            writer.apply(COP, 1, tracks, [])
            writer.apply_overlays(COP, 2, overlays, [])
            await writer.flush()

    asyncio.run(scenario())
    sql(migrated, "ANALYZE tracks")
    sql(migrated, "ANALYZE overlays")
    small, across = (10.0, 40.0, 12.0, 42.0), (179.0, -2.0, -179.0, 2.0)
    for box in (small, across):
        assert "tracks_position_lonlat" in explain(migrated, postgis_rows.tracks_in(COP, box))
        assert "overlays_geometry_lonlat" in explain(migrated, postgis_rows.overlays_in(COP, box))
