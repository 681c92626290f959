"""``GET /api/v1/imagery``: every imagery source's status (current or failing and why,
the items it has on the pictures, the last refresh), for viewers: the map shows it."""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request

from tessera.transports.web.context import Served
from tessera.transports.web.responses import JSONResponse

_WHEN: Final[dict[str, Any]] = {"type": ["string", "null"], "format": "date-time"}
IMAGERY_STATUS: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["stac-api", "static"]},
        "state": {"type": "string", "enum": ["starting", "current", "failing", "stopped"]},
        "items": {"type": "integer"},
        "new_items": {"type": "integer"},
        "removed_items": {"type": "integer"},
        "truncated": {"type": "boolean"},
        "refreshes": {"type": "integer"},
        "failures": {"type": "integer"},
        "problems": {"type": "object", "additionalProperties": {"type": "integer"}},
        "last_refresh_at": _WHEN,
        "last_success_at": _WHEN,
        "last_error": {"type": ["string", "null"]},
    },
}
IMAGERY: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["sources"],
    "properties": {"sources": {"type": "array", "items": IMAGERY_STATUS}},
}


def imagery_operations() -> dict[str, dict[str, Any]]:
    schema = {"application/json": {"schema": IMAGERY}}
    return {
        "get_imagery": {
            "get": {
                "summary": "The imagery sources' status: current or failing, items, last refresh",
                "responses": {"200": {"description": "Imagery sources", "content": schema}},
            }
        }
    }


async def get_imagery(request: Request) -> JSONResponse:
    tessera: Served = request.app.state.tessera
    statuses = [status.as_json() for status in tessera.imagery.sources.values()]
    return JSONResponse({"sources": statuses})
