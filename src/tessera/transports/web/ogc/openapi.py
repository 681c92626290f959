"""The OpenAPI 3.0 definition of /ogc (the oas30 conformance class).

Collections are described by path parameters rather than one path each: which ones exist
depends on who asks, and the document is the same for everyone. Parameters are written out
in each operation rather than referenced, as some clients look for ``limit`` there.
"""

from __future__ import annotations

from typing import Any

from tessera import __version__
from tessera.core.model import TrackStatus
from tessera.transports.web.ogc.params import DEFAULT_LIMIT, MAX_LIMIT


def ogc_openapi(root: str) -> dict[str, Any]:
    json_ok = _content("application/json", "The document")
    items_ok = _content("application/geo+json", "A GeoJSON FeatureCollection")
    item_ok = _content("application/geo+json", "A GeoJSON Feature")
    api_ok = _content("application/vnd.oai.openapi+json;version=3.0", "This document")
    collection = _collection_id()
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Tessera OGC API - Features",
            "version": __version__,
            "description": (
                "Each picture the caller may read as three collections, <picture>-tracks, "
                "<picture>-overlays and <picture>-imagery (imagery footprints), in GeoJSON "
                "and CRS84. Every operation needs a bearer "
                "token with the viewer role; a collection or feature outside the caller's "
                "pictures answers 404 exactly as one that does not exist."
            ),
        },
        "servers": [{"url": root}],
        "security": [{"bearer": []}],
        "paths": {
            "/": _get("getLandingPage", "The landing page", [], json_ok),
            "/conformance": _get("getConformance", "Conformance classes", [], json_ok),
            "/api": _get("getApiDefinition", "This API definition", [], api_ok),
            "/collections": _get("getCollections", "The caller's collections", [], json_ok),
            "/collections/{collectionId}": _get(
                "describeCollection", "One collection", [collection], json_ok, missing=True
            ),
            "/collections/{collectionId}/items": _get(
                "getFeatures",
                "The collection's features, by id, one page at a time",
                [collection, *_items_parameters()],
                items_ok,
                missing=True,
            ),
            "/collections/{collectionId}/items/{featureId}": _get(
                "getFeature",
                "One feature",
                [collection, _path("featureId", "The feature's id (a track's or an overlay's)")],
                item_ok,
                missing=True,
            ),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "parameter": {"type": "string"},
                    },
                }
            },
        },
    }


def _get(
    operation_id: str,
    summary: str,
    parameters: list[dict[str, Any]],
    ok: dict[str, Any],
    *,
    missing: bool = False,
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": ok,
        "400": _error("An unknown parameter or an invalid value"),
        "401": _error("No valid token"),
        "403": _error("The token's principal is not a viewer"),
        "429": _error("Too many requests"),
    }
    if missing:
        responses["404"] = _error("No such collection or feature among the caller's")
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "parameters": [*parameters, _format()],
            "responses": dict(sorted(responses.items())),
        }
    }


def _items_parameters() -> list[dict[str, Any]]:
    return [
        _query(
            "bbox",
            "west,south,east,north in CRS84 degrees, or six numbers with the lowest and "
            "highest height after south and north; west > east crosses the antimeridian. "
            "Edges included; an overlay is in it when its shape itself meets it",
            {
                "type": "array",
                "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}],
                "items": {"type": "number"},
            },
        ),
        _query(
            "datetime",
            "An RFC 3339 date-time or an interval start/end (.. for an open end), against "
            "a track's updated time or an overlay's validity (else its updated time)",
            {"type": "string"},
        ),
        _query(
            "status",
            "Of a tracks collection: the track statuses to serve, of tentative, confirmed, "
            "coasting, stale and dead (default: every one but dead)",
            {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "enum": [status.value for status in TrackStatus]},
            },
        ),
        _query(
            "limit",
            f"Features per page (above {MAX_LIMIT}: {MAX_LIMIT})",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        ),
        _query(
            "offset",
            "How many features (by id) to skip: the next and prev links carry it",
            {"type": "integer", "minimum": 0, "default": 0},
        ),
    ]


def _format() -> dict[str, Any]:
    return _query("f", "The encoding: only json", {"type": "string", "enum": ["json"]})


def _collection_id() -> dict[str, Any]:
    return _path("collectionId", "<picture>-tracks, <picture>-overlays or <picture>-imagery")


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        "style": "form",
        "explode": False,
    }


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _content(media_type: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "object"}}}}


def _error(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/error"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}
