"""``/ogc/collections/{collectionId}/items`` and ``.../items/{featureId}``: a collection's
features in GeoJSON, filtered by ``bbox``, ``datetime`` and (tracks) ``status``, one page
at a time. Dead tracks are served only when ``status`` names them: a GIS client would draw
them as current.

Pages are cut from the features sorted by id, at ``offset``; the ``next`` and ``prev``
links carry every other parameter, so following them walks the same selection. Each page
reads the picture as it is then: paging through a picture that changes meanwhile can
miss or repeat a feature, as with any offset paging.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request

from tessera.transports.web.ogc.common import (
    GEOJSON,
    JSON,
    answer,
    collection_or_404,
    collection_url,
    link,
    problem,
    refusal,
    root_url,
    tessera_of,
)
from tessera.transports.web.ogc.features import Kind, entries, entry
from tessera.transports.web.ogc.params import items_query
from tessera.transports.web.params import ParameterError
from tessera.transports.web.responses import JSONResponse


async def get_items(request: Request) -> JSONResponse:
    try:
        query = items_query(request.query_params)
    except ParameterError as exc:
        return problem(400, str(exc), exc.name)
    collection = collection_or_404(request)
    if isinstance(collection, JSONResponse):
        return collection
    if collection.kind is not Kind.TRACKS and "status" in request.query_params:
        return problem(400, "status: only a tracks collection takes it", "status")
    tessera = tessera_of(request)
    store, picture = tessera.store, collection.picture.name
    held = entries(store, picture, collection.kind, query.bbox, query.statuses)
    matched = [found for found in held if found.matches(query)]
    page = matched[query.offset : query.offset + query.limit]
    href = collection_url(root_url(request), collection.id)
    items = f"{href}/items"
    params = dict(request.query_params)

    def page_at(offset: int) -> str:
        return f"{items}?{urlencode({**params, 'offset': offset, 'limit': query.limit})}"

    links = [
        link(f"{items}?{urlencode(params)}" if params else items, "self", GEOJSON, "This page"),
        link(href, "collection", JSON, "The collection"),
    ]
    if query.offset + query.limit < len(matched):
        links.append(link(page_at(query.offset + query.limit), "next", GEOJSON, "Next page"))
    if query.offset > 0:
        previous = max(query.offset - query.limit, 0)
        links.append(link(page_at(previous), "prev", GEOJSON, "Previous page"))
    body: dict[str, Any] = {
        "type": "FeatureCollection",
        "numberMatched": len(matched),
        "numberReturned": len(page),
        "timeStamp": tessera.clock(),
        "links": links,
        "features": [found.feature() for found in page],
    }
    return answer(body, GEOJSON)


async def get_item(request: Request) -> JSONResponse:
    if (refused := refusal(request)) is not None:
        return refused
    collection = collection_or_404(request)
    if isinstance(collection, JSONResponse):
        return collection
    feature_id = request.path_params["feature_id"]
    store = tessera_of(request).store
    found = entry(store, collection.picture.name, collection.kind, feature_id)
    if found is None:
        # Features live in their picture's store: another picture's are simply not here.
        return problem(404, f"no feature {feature_id!r} in collection {collection.id!r}")
    href = collection_url(root_url(request), collection.id)
    feature = found.feature()
    feature["links"] = [
        link(f"{href}/items/{quote(found.id, safe='')}", "self", GEOJSON, "This feature"),
        link(href, "collection", JSON, "The collection"),
    ]
    return answer(feature, GEOJSON)
