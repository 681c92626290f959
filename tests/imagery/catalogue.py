"""Static STAC catalogues the tests write with pystac: square footprints (with a
thumbnail on the web and a data file beside the catalogue) and point items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pystac

NOW = datetime.now(UTC).replace(microsecond=0)


def square(item_id: str, west: float, south: float, days_ago: float) -> pystac.Item:
    east, north = west + 0.1, south + 0.1
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    made = pystac.Item(
        id=item_id,
        geometry={"type": "Polygon", "coordinates": [ring]},
        bbox=[west, south, east, north],
        datetime=NOW - timedelta(days=days_ago),
        properties={"platform": "aerial-survey", "gsd": 0.3, "eo:cloud_cover": 0.0},
    )
    made.add_asset(
        "thumbnail",
        pystac.Asset(href=f"https://imagery.example.org/{item_id}.jpg", roles=["thumbnail"]),
    )
    # A relative asset on disk: not a link anybody on the map could follow.
    made.add_asset("local", pystac.Asset(href=f"./{item_id}.tif", roles=["data"]))
    return made


def point(item_id: str, lon: float, lat: float) -> pystac.Item:
    return pystac.Item(
        id=item_id,
        geometry={"type": "Point", "coordinates": [lon, lat]},
        bbox=[lon, lat, lon, lat],
        datetime=NOW,
        properties={},
    )


def write_catalogue(folder: Path, items: list[pystac.Item]) -> Path:
    catalog = pystac.Catalog(id="survey", description="Aerial survey")
    survey = pystac.Collection(
        id="aerial",
        description="Aerial survey",
        extent=pystac.Extent(
            pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]]),
            pystac.TemporalExtent([[NOW - timedelta(days=365), None]]),
        ),
    )
    catalog.add_child(survey)
    survey.add_items(items)
    catalog.normalize_hrefs(str(folder))
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return folder / "catalog.json"
