"""``GET /api/v1/feeds``: every sensor feed's status (connected, messages/s, errors, the
last message), for viewers: the map shows it."""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request

from tessera.transports.web.context import Served
from tessera.transports.web.responses import JSONResponse

FEED_STATUS: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "kind": {"type": "string"},
        "state": {"type": "string"},
        "connected": {"type": "boolean"},
        "messages": {"type": "integer"},
        "messages_per_s": {"type": "number"},
        "reports": {"type": "integer"},
        "errors": {"type": "integer"},
        "problems": {"type": "object", "additionalProperties": {"type": "integer"}},
        "last_message_at": {"type": ["string", "null"], "format": "date-time"},
        "last_error": {"type": ["string", "null"]},
        "reconnects": {"type": "integer"},
    },
}
FEEDS: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["feeds"],
    "properties": {"feeds": {"type": "array", "items": FEED_STATUS}},
}


async def get_feeds(request: Request) -> JSONResponse:
    tessera: Served = request.app.state.tessera
    statuses = [status.as_json() for status in tessera.feeds.feeds.values()]
    return JSONResponse({"feeds": statuses})
