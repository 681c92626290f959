"""``/ogc/collections`` and ``/ogc/collections/{collectionId}``: the tracks and the overlays
of each picture the caller may read, with the extent of what they hold now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from starlette.requests import Request

from tessera.store.base import TrackStore
from tessera.transports.web.ogc.common import (
    CRS84,
    GEOJSON,
    JSON,
    Collection,
    answer,
    collection_or_404,
    collection_url,
    link,
    readable_collections,
    refusal,
    root_url,
    tessera_of,
)
from tessera.transports.web.ogc.features import Entry, Kind, entries
from tessera.transports.web.responses import JSONResponse

WORLD: Final = (-180.0, -90.0, 180.0, 90.0)
GREGORIAN: Final = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
TITLES: Final = {Kind.TRACKS: "Tracks", Kind.OVERLAYS: "Overlays"}


async def get_collections(request: Request) -> JSONResponse:
    if (refused := refusal(request)) is not None:
        return refused
    root = root_url(request)
    store = tessera_of(request).store
    return answer(
        {
            "links": [link(f"{root}/collections", "self", JSON, "This document")],
            "collections": [
                describe(store, collection, root) for collection in readable_collections(request)
            ],
            "crs": [CRS84],
        }
    )


async def get_collection(request: Request) -> JSONResponse:
    if (refused := refusal(request)) is not None:
        return refused
    collection = collection_or_404(request)
    if isinstance(collection, JSONResponse):
        return collection
    return answer(describe(tessera_of(request).store, collection, root_url(request)))


def describe(store: TrackStore, collection: Collection, root: str) -> dict[str, Any]:
    picture = collection.picture
    href = collection_url(root, collection.id)
    held = entries(store, picture.name, collection.kind, None)
    description = f"{TITLES[collection.kind]} of the picture {picture.name}"
    if picture.description:
        description += f": {picture.description}"
    return {
        "id": collection.id,
        "title": f"{picture.name} {collection.kind.value}",
        "description": description,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {
            "spatial": {"bbox": [list(spatial_extent(held))], "crs": CRS84},
            "temporal": {"interval": [list(temporal_extent(held))], "trs": GREGORIAN},
        },
        "links": [
            link(href, "self", JSON, "This collection"),
            link(f"{href}/items", "items", GEOJSON, "Its features"),
        ],
    }


def spatial_extent(held: Sequence[Entry]) -> tuple[float, float, float, float]:
    """A box holding every feature now (the world when there is none). Features on both
    sides of the antimeridian make it span the longitudes between: wide, never wrong."""
    if not held:
        return WORLD
    return (
        min(entry.bounds[0] for entry in held),
        min(entry.bounds[1] for entry in held),
        max(entry.bounds[2] for entry in held),
        max(entry.bounds[3] for entry in held),
    )


def temporal_extent(held: Sequence[Entry]) -> tuple[datetime | None, datetime | None]:
    """From the earliest to the latest time of any feature; an open end (or no feature
    with a time) is ``None``, which the standard reads as open."""
    periods = [entry.period for entry in held if entry.period is not None]
    if not periods:
        return None, None
    starts = [period.start for period in periods]
    ends = [period.end for period in periods]
    start = None if None in starts else min(s for s in starts if s is not None)
    end = None if None in ends else max(e for e in ends if e is not None)
    return start, end
