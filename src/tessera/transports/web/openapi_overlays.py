"""The OpenAPI operations of /api/v1/overlays and /api/v1/imports (merged into the
document by `openapi`)."""

from __future__ import annotations

from typing import Any, Final

PICTURE_PARAM: Final = {
    "name": "picture",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "The picture to read through (default: the first one the caller reads)",
}
IDEMPOTENCY_KEY: Final = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "The revision's id: a retried request with the same key is stored once",
}
_OVERLAY = {"$ref": "#/components/schemas/Overlay"}
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_WRITTEN = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "revision": {"type": "string"},
        "overlay": {"type": "object", "description": "GeoJSON Feature of the overlay"},
    },
}
_IMPORTED = {
    "type": "object",
    "properties": {
        "format": {"type": "string"},
        "reports": {"type": "integer"},
        "held": {
            "type": "object",
            "properties": {name: {"type": "integer"} for name in ("given", "file", "default")},
            "description": (
                "How many reports hold until the time given, the file's own, or the default"
            ),
        },
        "overlays": {"type": "integer"},
        "skipped": {"type": "array", "items": {"type": "object"}},
        "label": {
            "type": ["object", "null"],
            "description": "The file's label (null: each item by its own marking)",
        },
        "label_from": {"type": "string", "enum": ["given", "marking", "default"]},
        "own_marking": {
            "type": "integer",
            "description": "Items labelled by their own marking rather than the file's label",
        },
    },
}
_INVALID = _json(
    {"type": "object", "properties": {"errors": {"type": "array"}}},
    "Invalid overlay: every problem, by field",
)
_BODY = {"required": True, "content": {"application/json": {"schema": _OVERLAY}}}


def overlay_operations() -> dict[str, dict[str, Any]]:
    """Operation objects keyed by route name."""
    error = _json(_ERROR, "Error")
    return {
        "get_overlays": {
            "get": {
                "summary": "The picture's overlays as a GeoJSON FeatureCollection",
                "parameters": [
                    PICTURE_PARAM,
                    {
                        "name": "bbox",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "west,south,east,north in degrees (WGS 84); "
                        "west > east crosses the antimeridian. An overlay is in the box "
                        "when its shape itself meets it (edges included)",
                    },
                    {
                        "name": "at",
                        "in": "query",
                        "schema": {"type": "string", "format": "date-time"},
                        "description": "A past time: the overlays as they were then "
                        "(410 if older than the history kept)",
                    },
                ],
                "responses": {
                    "200": _json({"type": "object"}, "FeatureCollection"),
                    "400": error,
                    "410": error,
                },
            }
        },
        "post_overlay": {
            "post": {
                "summary": "Create an overlay (point, line, area, circle or corridor)",
                "description": (
                    "Answered once durable. The label defaults to the sender's; nobody may "
                    "use a label they could not read. The overlay appears in every picture "
                    "whose rule admits its label."
                ),
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _BODY,
                "responses": {
                    "201": _json(_WRITTEN, "Created and durable"),
                    "403": error,
                    "413": error,
                    "415": error,
                    "422": _INVALID,
                },
            }
        },
        "get_overlay": {
            "get": {
                "summary": "One overlay as a GeoJSON Feature",
                "parameters": [PICTURE_PARAM],
                "responses": {"200": _json({"type": "object"}, "Feature"), "404": error},
            }
        },
        "put_overlay": {
            "put": {
                "summary": "Replace an overlay (its author, operators and administrators)",
                "parameters": [PICTURE_PARAM, IDEMPOTENCY_KEY],
                "requestBody": _BODY,
                "responses": {
                    "200": _json(_WRITTEN, "Replaced and durable"),
                    "403": error,
                    "404": error,
                    "422": _INVALID,
                },
            }
        },
        "post_import": {
            "post": {
                "summary": "Import an NVG (1.4, 1.5, 2.0.x), KML, KMZ or CoT file, all or nothing",
                "description": (
                    "The body is the file. Points with unit symbols (NVG) and track "
                    "placemarks (KML, KMZ: identity and status in ExtendedData) become "
                    "reports (their grading, and a track's status, carried over), other "
                    "shapes overlays; CoT position events become reports. All under the "
                    "label given, else the file's own security marking, else the sender's "
                    "default; an element marked stricter keeps its "
                    "own marking. A marking above the label given, or releasable to fewer "
                    "communities, refuses the file (422, naming the marking and where). "
                    "Its reports are declarations, held on the picture with the identity "
                    "they state until valid_until, or for valid_for, when given; else as "
                    "the file says (an NVG or KML TimeSpan end, a CoT stale time); else for the "
                    "server's import_valid_for_s (24 h); each at most 7 days after its time. "
                    "The answer counts what was taken and lists what was skipped and why. "
                    "Importing the same file again stores nothing twice."
                ),
                "parameters": [
                    {
                        "name": "format",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["nvg", "kml", "kmz", "cot"]},
                        "description": "Left out: told from the file's first bytes",
                    },
                    {"name": "classification", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "releasable_to",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "Comma-separated communities",
                    },
                    {
                        "name": "source",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": (
                            "The source every report of the file comes from (one registered "
                            "to the importer); left out, each comes from the source the "
                            "file names"
                        ),
                    },
                    {
                        "name": "valid_until",
                        "in": "query",
                        "schema": {"type": "string", "format": "date-time"},
                        "description": "Every report holds until then (within 7 days)",
                    },
                    {
                        "name": "valid_for",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "Every report holds this long from now: 900, 30m, 12h, 2d",
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/octet-stream": {"schema": {"type": "string"}}},
                },
                "responses": {
                    "201": _json(_IMPORTED, "Imported and durable"),
                    "200": _json(_IMPORTED, "Nothing in the file to import"),
                    "400": error,
                    "403": error,
                    "413": error,
                    "422": error,
                },
            }
        },
        "delete_overlay": {
            "delete": {
                "summary": "Delete an overlay (its author, operators and administrators)",
                "parameters": [PICTURE_PARAM, IDEMPOTENCY_KEY],
                "responses": {"204": {"description": "Deleted"}, "403": error, "404": error},
            }
        },
    }
