"""Searching a real STAC API (stac-fastapi on pgstac): by area, time and collection, as
an imagery source asks it, and its items made footprints with their facts."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from tessera.codecs.stac import ItemFilter, bbox_geometry, item_footprint
from tessera.transports.imagery.config import ImagerySource
from tessera.transports.imagery.fetch import fetch
from tests.imagery.stac_server import StacApi, collection, item


def source(url: str, *collections: str, max_items: int = 500) -> ImagerySource:
    return ImagerySource(
        name="sat",
        kind="stac-api",
        url=url,
        principal="imagery",
        collections=collections,
        areas=((17.0, 52.0, 19.0, 54.0),),
        max_items=max_items,
    )


def found_ids(
    api: StacApi, window: ItemFilter, *collections: str, max_items: int = 500
) -> set[str]:
    fetched = fetch(source(api.url, *collections, max_items=max_items), window)
    return {str(found["id"]) for found in fetched.items}


def test_search_by_area_time_and_collection(stac_server: StacApi) -> None:
    optical, radar = f"optical-{secrets.token_hex(3)}", f"radar-{secrets.token_hex(3)}"
    stac_server.load("collections", [collection(optical), collection(radar)])
    stac_server.load(
        "items",
        [
            item("o-torun-may", optical, west=18.5, south=53.0, at="2026-05-04T09:30:00Z"),
            item("o-torun-june", optical, west=18.5, south=53.0, at="2026-06-10T09:30:00Z"),
            item("o-krakow-may", optical, west=19.9, south=50.0, at="2026-05-04T09:31:00Z"),
            item("r-torun-may", radar, west=18.4, south=52.9, at="2026-05-05T05:00:00Z"),
        ],
    )
    torun = (bbox_geometry((18.0, 52.5, 19.0, 53.5)),)
    may_start, may_end = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 31, tzinfo=UTC)
    assert found_ids(stac_server, ItemFilter(areas=torun), optical, radar) == {
        "o-torun-may",
        "o-torun-june",
        "r-torun-may",
    }
    assert found_ids(
        stac_server, ItemFilter(areas=torun, start=may_start, end=may_end), optical, radar
    ) == {
        "o-torun-may",
        "r-torun-may",
    }
    assert found_ids(
        stac_server, ItemFilter(areas=torun, start=may_start, end=may_end), optical
    ) == {"o-torun-may"}
    everywhere = (bbox_geometry((14.0, 49.0, 24.0, 55.0)),)
    assert found_ids(
        stac_server, ItemFilter(areas=everywhere, start=may_start, end=may_end), optical
    ) == {
        "o-torun-may",
        "o-krakow-may",
    }
    # Two areas: each searched, each item once.
    both = (*torun, bbox_geometry((19.5, 49.5, 20.5, 50.5)), *torun)
    assert found_ids(
        stac_server, ItemFilter(areas=both, start=may_start, end=may_end), optical
    ) == {
        "o-torun-may",
        "o-krakow-may",
    }
    fetched = fetch(source(stac_server.url, optical, max_items=1), ItemFilter(areas=everywhere))
    assert len(fetched.items) == 1 and fetched.truncated


def test_items_become_footprints_with_their_facts(stac_server: StacApi) -> None:
    optical = f"optical-{secrets.token_hex(3)}"
    stac_server.load("collections", [collection(optical)])
    stac_server.load(
        "items",
        [item("scene-1", optical, west=18.5, south=53.0, at="2026-05-04T09:30:00Z", gsd=0.5)],
    )
    fetched = fetch(
        source(stac_server.url, optical), ItemFilter(areas=(bbox_geometry((18, 53, 19, 54)),))
    )
    [data] = fetched.items
    found = item_footprint(data, source="sat", grading="B2")
    facts = found.imagery
    assert (facts.item, facts.collection, facts.platform) == ("scene-1", optical, "sentinel-2a")
    assert facts.acquired_at == datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    assert (facts.cloud_cover, facts.gsd_m, facts.instruments) == (12.5, 0.5, ("msi",))
    assert facts.thumbnail == "https://imagery.example.org/scene-1/thumb.png"
    assert {asset.key for asset in facts.assets} == {"thumbnail", "visual"}
    # The API's own page for the item, as it links it.
    assert facts.item_url == f"{stac_server.url}/collections/{optical}/items/scene-1"
    assert found.ring[0] == found.ring[-1] and len(found.ring) == 5
