"""A collection's extent is exactly where and when what it serves is: the shapes' own
bounds (a circle as drawn, not a box widened by an estimate), without the dead tracks it
leaves out, crossing the antimeridian when that is narrower, with the time from the
earliest feature to the latest; an empty collection has none. On the embedded store, and
on PostGIS, whose own ST_Extent of the rows it holds gives the same box."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import shapely

from tessera.codecs.geojson_export import overlay_geometry
from tessera.core.model import Label, Track, TrackStatus
from tessera.core.overlays import Overlay, OverlayKind
from tessera.postgis.migrate import migrate
from tessera.transports.web.ogc.extents import spatial_extent
from tests.ogc.helpers import PICTURES, put_overlays
from tests.postgis.databases import scratch_database
from tests.store.builders import overlay, track
from tests.support import Live, live_server

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
LABEL = Label("SECRET", ("NATO",))  # as NATO_ONLY
# A circle far north: a box widened by a degree's length at its poleward edge would be
# wider than the circle as drawn.
CIRCLE = overlay(
    "ring", OverlayKind.CIRCLE, [(24.0, 68.5)], radius_m=25_000.0, label=LABEL, updated_at=T0
)
ROUTE = overlay(
    "route",
    OverlayKind.LINE,
    [(22.0, 67.0), (26.5, 67.2), (26.4, 69.9)],
    label=LABEL,
    valid_from=T0 - timedelta(hours=2),
    valid_to=T0 + timedelta(hours=6),
)


def tracks() -> list[Track]:
    return [
        track("t-1", lat=53.0, lon=18.0, label=LABEL, updated_at=T0),
        track("t-2", lat=54.5, lon=19.25, label=LABEL, updated_at=T0 + timedelta(minutes=5)),
        # Dead: left out of what the collection serves, and so of its extent.
        track("t-dead", lat=-40.0, lon=170.0, label=LABEL, status=TrackStatus.DEAD),
    ]


def drawn_bounds(*shapes: Overlay) -> list[float]:
    boxes = [shapely.bounds(shapely.geometry.shape(overlay_geometry(s))) for s in shapes]
    return [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]


def test_the_smallest_box_crosses_the_antimeridian_only_when_narrower() -> None:
    assert spatial_extent([]) is None
    assert spatial_extent([(10.0, 1.0, 20.0, 2.0), (15.0, -5.0, 30.0, 0.0)]) == (
        10.0, -5.0, 30.0, 2.0,
    )  # fmt: skip
    # Both sides of the antimeridian (a shape split there, or two clusters): across it.
    assert spatial_extent([(170.0, 0.0, 180.0, 1.0), (-180.0, -1.0, -175.0, 0.5)]) == (
        170.0, -1.0, -175.0, 1.0,
    )  # fmt: skip
    assert spatial_extent([(175.0, 0.0, 176.0, 1.0), (-179.0, 0.0, -178.0, 1.0)]) == (
        175.0, 0.0, -178.0, 1.0,
    )  # fmt: skip
    # Going round the front, or round the back, whichever is narrower.
    assert spatial_extent([(-60.0, 0.0, -50.0, 1.0), (50.0, 0.0, 60.0, 1.0)]) == (
        -60.0, 0.0, 60.0, 1.0,
    )  # fmt: skip
    assert spatial_extent([(-100.0, 0.0, -90.0, 1.0), (90.0, 0.0, 100.0, 1.0)]) == (
        90.0, 0.0, -90.0, 1.0,
    )  # fmt: skip
    # Points alone, and everything covered.
    assert spatial_extent([(5.0, 5.0, 5.0, 5.0)]) == (5.0, 5.0, 5.0, 5.0)
    assert spatial_extent([(-180.0, 0.0, 0.0, 1.0), (0.0, 0.0, 180.0, 2.0)]) == (
        -180.0, 0.0, 180.0, 2.0,
    )  # fmt: skip


async def collections(live: Live) -> dict[str, dict[str, Any]]:
    async with live.client() as client:
        answer = await client.get("/ogc/collections")
    assert answer.status_code == 200, answer.text
    return {c["id"]: c for c in answer.json()["collections"]}


def put_tracks(live: Live, held: list[Track]) -> None:
    store = live.tessera.store
    store.apply("NATO", store.seq("NATO"), held, [])


def expected_extents(found: dict[str, dict[str, Any]]) -> None:
    served = found["NATO-tracks"]["extent"]
    assert served["spatial"]["bbox"] == [[18.0, 53.0, 19.25, 54.5]]
    assert served["temporal"]["interval"] == [["2026-05-04T09:00:00Z", "2026-05-04T09:05:00Z"]]
    shapes = found["NATO-overlays"]["extent"]
    assert shapes["spatial"]["bbox"] == [pytest.approx(drawn_bounds(CIRCLE, ROUTE), abs=1e-12)]
    assert shapes["temporal"]["interval"] == [["2026-05-04T07:00:00Z", "2026-05-04T15:00:00Z"]]
    # Nothing in the other picture: no extent at all, rather than a made-up world.
    assert "extent" not in found["UKR-tracks"] and "extent" not in found["UKR-overlays"]


def test_extents_on_the_embedded_store(tmp_path: Path) -> None:
    async def main() -> None:
        async with live_server(tmp_path, pictures=PICTURES, tick_interval_s=3600.0) as live:
            put_tracks(live, tracks())
            put_overlays(live, [CIRCLE, ROUTE])
            expected_extents(await collections(live))
            # A shape across the antimeridian: its two parts, across it.
            put_overlays(
                live,
                [
                    overlay(
                        "dateline", OverlayKind.LINE, [(178.0, 10.0), (-177.0, 11.0)], label=LABEL
                    )
                ],
            )
            box = (await collections(live))["NATO-overlays"]["extent"]["spatial"]["bbox"][0]
            assert box[0] > box[2], box
            assert box == pytest.approx([22.0, 10.0, -177.0, 69.9])

    asyncio.run(main())


@pytest.fixture
def migrated() -> Iterator[str]:
    with scratch_database() as dsn:
        migrate(dsn)
        yield dsn


def test_extents_on_postgis_are_what_postgis_itself_finds(migrated: str, tmp_path: Path) -> None:
    async def main() -> None:
        async with live_server(
            tmp_path, pictures=PICTURES, tick_interval_s=3600.0, postgis_dsn=migrated
        ) as live:
            put_tracks(live, tracks())
            put_overlays(live, [CIRCLE, ROUTE])
            await live.tessera.store.flush(30)
            found = await collections(live)
        expected_extents(found)
        with psycopg.connect(migrated) as conn:
            of_tracks = conn.execute(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT"
                " ST_Extent(position::geometry) AS e FROM tracks"
                " WHERE picture = 'NATO' AND status <> 'dead') AS x"
            ).fetchone()
            of_overlays = conn.execute(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT"
                " ST_Extent(geometry::geometry) AS e FROM overlays WHERE picture = 'NATO') AS x"
            ).fetchone()
        assert of_tracks is not None and of_overlays is not None
        assert found["NATO-tracks"]["extent"]["spatial"]["bbox"] == [list(of_tracks)]
        served = found["NATO-overlays"]["extent"]["spatial"]["bbox"][0]
        assert served == pytest.approx(list(of_overlays), abs=1e-6)

    asyncio.run(main())
