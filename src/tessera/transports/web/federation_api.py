"""``GET /api/v1/federation``: every federation link's status (connected, how far the
peer is behind, what was sent, received and refused), for operators (the map shows
it): link names and volumes say whom this node federates with, which a partner's viewer
is not to learn."""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request

from tessera.transports.web.context import Served
from tessera.transports.web.responses import JSONResponse

_COUNT: Final = {"type": "integer"}
_WHEN: Final = {"type": ["string", "null"], "format": "date-time"}
LINK_STATUS: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "peer": {"type": ["string", "null"]},
        "peer_node": {"type": ["string", "null"]},
        "state": {"type": "string"},
        "connected": {"type": "boolean"},
        **dict.fromkeys(
            (
                "inbound_connections",
                "position",
                "behind",
                "sent",
                "acked",
                "received",
                "chat_sent",
                "chat_received",
                "duplicates",
                "refused_above_ceiling",
                "refused_loops",
                "refused_implausible",
                "bytes_out",
                "bytes_in",
                "reconnects",
            ),
            _COUNT,
        ),
        # Where the peer stands in this node's chat journal (null: it takes no chat).
        "chat_position": {"type": ["integer", "null"]},
        "last_ack_at": _WHEN,
        "last_received_at": _WHEN,
        "last_error": {"type": ["string", "null"]},
    },
}
LINKS: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["links"],
    "properties": {"links": {"type": "array", "items": LINK_STATUS}},
}


async def get_federation(request: Request) -> JSONResponse:
    tessera: Served = request.app.state.tessera
    statuses = [status.as_json() for status in tessera.federation.links.values()]
    return JSONResponse({"links": statuses})
