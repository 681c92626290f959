"""The OpenAPI operations of /api/v1/pictures/{picture}/chat (merged into the document by
`openapi`)."""

from __future__ import annotations

from typing import Any, Final

from tessera.chat.service import DEFAULT_HISTORY, MAX_HISTORY
from tessera.core.chat import ChatMessage
from tessera.transports.web.chat_api import ChatDoc

# The document's components these operations name (by the names they are given there).
CHAT_SCHEMAS: Final = {"ChatPost": ChatDoc, "ChatMessage": ChatMessage}
_ERROR: Final = {"type": "object", "properties": {"error": {"type": "string"}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def chat_operations() -> dict[str, dict[str, Any]]:
    error = _json(_ERROR, "Error")
    message = {"$ref": "#/components/schemas/ChatMessage"}
    history = {
        "type": "object",
        "properties": {
            "picture": {"type": "string"},
            "messages": {"type": "array", "items": message},
            "count": {"type": "integer"},
        },
    }
    return {
        "get_chat": {
            "get": {
                "summary": "The picture's chat room: its last messages, oldest first",
                "description": (
                    "Messages said on the web map, by TAK users in All Chat Rooms and "
                    "by partner nodes over federation (`via` `federation`, `origin` the "
                    "node it was said on, `author` the link), only those whose label the "
                    "caller may read. New ones arrive on the "
                    "stream as `chat` messages."
                ),
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_HISTORY,
                            "default": DEFAULT_HISTORY,
                        },
                    }
                ],
                "responses": {"200": _json(history, "The room's history"), "404": error},
            }
        },
        "post_chat": {
            "post": {
                "summary": "Say something in the picture's room (audited)",
                "description": (
                    "Labelled with `label` (else the caller's default label), which the "
                    "picture must admit. It reaches the room's readers cleared for the "
                    "label, on the web map and on TAK clients (a GeoChat in All Chat "
                    "Rooms)."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ChatPost"}}
                    },
                },
                "responses": {
                    "201": _json(message, "The message, journaled"),
                    "400": error,
                    "403": error,
                    "404": error,
                    "413": error,
                    "422": _json({"type": "object"}, "Invalid message"),
                },
            }
        },
    }
