"""The OpenAPI operation of ``GET /api/v1/passes``."""

from __future__ import annotations

from typing import Any

from tessera.transports.web.openapi_overlays import PICTURE_PARAM
from tessera.transports.web.passes_api import PASSES, SATELLITES

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, "description": description}


def passes_operations() -> dict[str, dict[str, Any]]:
    return {
        "get_satellites": {
            "get": {
                "summary": "The picture's satellites now, as a GeoJSON FeatureCollection",
                "description": (
                    "Of the satellites the picture admits: each one's position (part "
                    "satellite, with its APP-6 space sidc), its ground track over the last "
                    "and the next orbit (part ground_track, when past or next) and its "
                    "sensor's footprint (part footprint)."
                ),
                "parameters": [PICTURE_PARAM],
                "responses": {
                    "200": _json(SATELLITES, "FeatureCollection"),
                    "404": _json(_ERROR, "No such picture"),
                },
            }
        },
        "get_passes": {
            "get": {
                "summary": "Satellite passes over a place in the next hours",
                "description": (
                    "Of the satellites the picture's readers may know of (its rule over "
                    "their labels): rise, culmination and set, the highest elevation, the "
                    "off-nadir angle at culmination and whether the place is then within "
                    "the sensor's field. The place is a point (lat, lon), an overlay's "
                    "centre (area) or a track (track), of the picture."
                ),
                "parameters": [
                    PICTURE_PARAM,
                    _query("lat", {"type": "number"}, "degrees (with lon)"),
                    _query("lon", {"type": "number"}, "degrees (with lat)"),
                    _query("area", {"type": "string"}, "an overlay id of the picture"),
                    _query("track", {"type": "string"}, "a track id of the picture"),
                    _query("hours", {"type": "number", "default": 6}, "how far ahead, up to 48"),
                    _query("mask", {"type": "number", "default": 0}, "lowest elevation, degrees"),
                    _query("identity", {"type": "string"}, "comma-separated identities"),
                    _query("imaging", {"type": "boolean"}, "only imaging satellites"),
                ],
                "responses": {
                    "200": _json(PASSES, "Passes"),
                    "400": _json(_ERROR, "Error"),
                    "404": _json(_ERROR, "No such picture, area or track"),
                },
            }
        },
    }
