"""``/ogc/collections`` and ``/ogc/collections/{collectionId}``: the tracks and the overlays
of each picture the caller may read, with the extent of what they hold now (`extents`)."""

from __future__ import annotations

from collections.abc import Sequence
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
from tessera.transports.web.ogc.extents import spatial_extent, temporal_extent
from tessera.transports.web.ogc.features import Entry, Kind, entries
from tessera.transports.web.responses import JSONResponse

GREGORIAN: Final = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
TITLES: Final = {
    Kind.TRACKS: "Tracks",
    Kind.OVERLAYS: "Overlays",
    Kind.IMAGERY: "Imagery footprints",
}


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
        **_extent(held),
        "links": [
            link(href, "self", JSON, "This collection"),
            link(f"{href}/items", "items", GEOJSON, "Its features"),
        ],
    }


def _extent(held: Sequence[Entry]) -> dict[str, Any]:
    """Where and when the features it serves now are; nothing for an empty collection
    (an extent is optional, and no box is the true one for nothing)."""
    box = spatial_extent(part for entry in held for part in entry.boxes)
    if box is None:
        return {}
    interval = temporal_extent([entry.period for entry in held])
    return {
        "extent": {
            "spatial": {"bbox": [list(box)], "crs": CRS84},
            "temporal": {"interval": [list(interval)], "trs": GREGORIAN},
        }
    }
