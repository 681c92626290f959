"""The pieces the OpenAPI document of /api/v1 shares among its operations: references to
its schemas, JSON responses, and the query parameters several operations take."""

from __future__ import annotations

from typing import Any

from tessera.security.audit_filter import MAX_FILTER_TEXT, OUTCOMES
from tessera.transports.web.audit_query import DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT


def schema_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = json_response({"type": "object", "properties": {"error": {"type": "string"}}}, "Error")
PICTURE_PARAM = {
    "name": "picture",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "The picture to read through (default: the first one the caller reads)",
}
AT_PARAM = {
    "name": "at",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "format": "date-time"},
    "description": "A past time: the picture as it was then (410 if older than the history kept)",
}
TRAIL_PARAM = {
    "name": "trail",
    "in": "query",
    "required": False,
    "schema": {"type": "number", "minimum": 0, "maximum": 3600},
    "description": "With at: each track's path over this many seconds before it (trails)",
}
WITH_OVERLAYS_PARAM = {
    "name": "overlays",
    "in": "query",
    "required": False,
    "schema": {"type": "boolean"},
    "description": "With at: the overlays as they were then too (overlays: features)",
}
FILTER_PARAMS = [
    {
        "name": "bbox",
        "in": "query",
        "schema": {"type": "string"},
        "description": "west,south,east,north in degrees (WGS 84)",
    },
    {
        "name": "identity",
        "in": "query",
        "schema": {"type": "string"},
        "description": "Comma-separated standard identities, e.g. hostile,suspect",
    },
    {
        "name": "status",
        "in": "query",
        "schema": {"type": "string"},
        "description": "Comma-separated statuses: tentative, confirmed, coasting, stale, dead",
    },
]
FEATURE = {"type": "object", "description": "GeoJSON Feature of a track"}
SESSION = {"type": "object", "description": "principal, pictures and token"}
AUDIT_PARAMS = [
    {
        "name": "action",
        "in": "query",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_FILTER_TEXT},
        "description": "Only this action (e.g. export); ending in a dot, every action it "
        "begins (overlays. for overlays.create, overlays.edit, overlays.delete)",
    },
    {
        "name": "principal",
        "in": "query",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_FILTER_TEXT},
        "description": "Only what this principal did",
    },
    {
        "name": "outcome",
        "in": "query",
        "schema": {"type": "string", "enum": list(OUTCOMES)},
        "description": "Only events that ended so",
    },
    {
        "name": "since",
        "in": "query",
        "schema": {"type": "string", "format": "date-time"},
        "description": "Events at or after this time (with its zone)",
    },
    {
        "name": "until",
        "in": "query",
        "schema": {"type": "string", "format": "date-time"},
        "description": "Events before this time (with its zone)",
    },
    {
        "name": "after",
        "in": "query",
        "schema": {"type": "integer", "minimum": 0},
        "description": "Events after this seq: the last one of the previous page",
    },
    {
        "name": "limit",
        "in": "query",
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_AUDIT_LIMIT,
            "default": DEFAULT_AUDIT_LIMIT,
        },
    },
]
