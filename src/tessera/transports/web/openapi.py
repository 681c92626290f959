"""The OpenAPI 3.1 document of /api/v1.

Schemas come from the same msgspec types that validate input, so the document cannot
drift from what the server accepts; a test checks every route is described.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.routing import BaseRoute, Route, WebSocketRoute

from tessera import __version__
from tessera.codecs.errors import FieldError
from tessera.codecs.json import ReportDoc
from tessera.codecs.overlay_json import OverlayDoc
from tessera.core.model import Grading
from tessera.security.audit_filter import MAX_FILTER_TEXT, OUTCOMES
from tessera.transports.web.account import Login
from tessera.transports.web.audit_query import DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT
from tessera.transports.web.federation_api import LINKS
from tessera.transports.web.feeds_api import FEEDS
from tessera.transports.web.imagery_api import imagery_operations
from tessera.transports.web.openapi_alerts import ALERT_SCHEMAS, alert_operations
from tessera.transports.web.openapi_chat import CHAT_SCHEMAS, chat_operations
from tessera.transports.web.openapi_overlays import overlay_operations
from tessera.transports.web.openapi_passes import passes_operations
from tessera.transports.web.openapi_status import HEALTH, STATUS
from tessera.transports.web.stream import Subscribe


def _schema_hook(type_: type) -> dict[str, Any]:
    if type_ is Grading:
        return {
            "type": "string",
            "pattern": "^[A-F][1-6]$",
            "description": "Admiralty code: source reliability A-F, information credibility 1-6",
        }
    raise NotImplementedError


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = _json({"type": "object", "properties": {"error": {"type": "string"}}}, "Error")
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
REFUSALS = {
    "401": _json({"type": "object"}, "No valid token"),
    "403": _json({"type": "object"}, "The token's principal lacks the role"),
    "429": _json({"type": "object"}, "Too many requests or failed sign-ins"),
}


def _operations() -> dict[str, dict[str, Any]]:
    """Operation objects keyed by route name."""
    return {
        **overlay_operations(),
        **alert_operations(),
        **passes_operations(),
        **chat_operations(),
        **imagery_operations(),
        "post_reports": {
            "post": {
                "summary": "Submit a batch of reports",
                "description": (
                    "All or nothing. Answered only once the reports are durable. Ids are "
                    "optional; re-sending a known id is accepted and stored once, so a batch "
                    "may always be retried."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"type": "array", "items": _ref("Report")}}
                    },
                },
                "responses": {
                    "202": _json(
                        {
                            "type": "object",
                            "properties": {
                                "accepted": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                    "description": (
                                        "Each report's id as readers see it, in the order "
                                        "sent (the same again for a repeat)"
                                    ),
                                },
                            },
                        },
                        "Accepted and durable",
                    ),
                    "403": _json(
                        {
                            "type": "object",
                            "properties": {
                                "errors": {"type": "array", "items": _ref("FieldError")}
                            },
                        },
                        "A label the sender may not use, or a source not registered to it",
                    ),
                    "413": ERROR,
                    "415": ERROR,
                    "422": _json(
                        {
                            "type": "object",
                            "properties": {
                                "errors": {"type": "array", "items": _ref("FieldError")}
                            },
                        },
                        "Invalid reports: every problem, by item index and field",
                    ),
                },
            }
        },
        "get_report": {
            "get": {
                "summary": "One report, as stored (with received_at)",
                "description": (
                    "By the id readers see: in a track's lineage, and in the answer to the "
                    "write that sent it."
                ),
                "parameters": [PICTURE_PARAM],
                "responses": {"200": _json(_ref("Report"), "The report"), "404": ERROR},
            }
        },
        "get_pictures": {
            "get": {
                "summary": "The pictures (audiences) this server keeps",
                "responses": {"200": _json({"type": "object"}, "Pictures")},
            }
        },
        "get_tracks": {
            "get": {
                "summary": "The picture's tracks as a GeoJSON FeatureCollection",
                "parameters": [PICTURE_PARAM, *FILTER_PARAMS, AT_PARAM, TRAIL_PARAM],
                "responses": {
                    "200": _json({"type": "object"}, "FeatureCollection"),
                    "400": ERROR,
                    "410": ERROR,
                },
            }
        },
        "get_track": {
            "get": {
                "summary": "One track, with its lineage (the reports that built it)",
                "parameters": [PICTURE_PARAM],
                "responses": {"200": _json(FEATURE, "Track with lineage"), "404": ERROR},
            }
        },
        "get_health": {
            "get": {
                "summary": "Liveness, and whether fusion has caught up since the start",
                "responses": {"200": _json(HEALTH, "Health")},
            }
        },
        "get_status": {
            "get": {
                "summary": "How far fusion has caught up with the journal (administrators)",
                "responses": {"200": _json(STATUS, "Status")},
            }
        },
        "get_feeds": {
            "get": {
                "summary": "The sensor feeds' status: connected, messages/s, errors, last message",
                "responses": {"200": _json(FEEDS, "Feeds")},
            }
        },
        "get_federation": {
            "get": {
                "summary": "The federation links' status: connected, behind, sent, refused",
                "responses": {"200": _json(LINKS, "Federation links")},
            }
        },
        "post_login": {
            "post": {
                "summary": "Sign in: check a token and say whose it is",
                "description": "Failed attempts count against the caller's address.",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("Login")}},
                },
                "responses": {
                    "200": _json(SESSION, "The principal and its pictures"),
                    "401": ERROR,
                    "429": ERROR,
                },
            }
        },
        "get_me": {
            "get": {
                "summary": "The caller: principal, pictures it may read, token expiry",
                "responses": {"200": _json(SESSION, "The principal and its pictures")},
            }
        },
        "get_audit": {
            "get": {
                "summary": "The audit trail, oldest first (administrators)",
                "parameters": AUDIT_PARAMS,
                "responses": {"200": _json({"type": "object"}, "Audit events"), "400": ERROR},
            }
        },
        "get_export": {
            "get": {
                "summary": "A picture as a file: NVG 2.0.2, GeoJSON, KML or KMZ, or a time "
                "window of it as KML or GeoPackage (audited)",
                "description": (
                    "Tracks and overlays; dead tracks only when status names them. "
                    "Each track carries its status and last update. A KMZ holds doc.kml "
                    "and an APP-6 icon per SIDC (icons/<sidc>.png); a KML is that doc.kml "
                    "alone."
                ),
                "parameters": [
                    PICTURE_PARAM,
                    {
                        "name": "format",
                        "in": "query",
                        "required": True,
                        "schema": {
                            "type": "string",
                            "enum": ["nvg", "geojson", "kml", "kmz", "gpkg", "csv"],
                        },
                        "description": "With from and to: kml (gx:Track), gpkg, or csv "
                        "(the window's alerts and acknowledgements) only",
                    },
                    {
                        "name": "from",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "format": "date-time"},
                        "description": "A time window's start (after-action export): each "
                        "track's path from here to `to`, with its times",
                    },
                    {
                        "name": "to",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "format": "date-time"},
                        "description": "The time window's end (with from; at most 7 days on)",
                    },
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "Comma-separated track statuses to export: tentative, "
                        "confirmed, coasting, stale, dead (default: all but dead)",
                    },
                ],
                "responses": {
                    "200": {"description": "The file, as an attachment"},
                    "400": ERROR,
                    "404": ERROR,
                },
            }
        },
        "get_principals": {
            "get": {
                "summary": "Every principal (administrators)",
                "responses": {"200": _json({"type": "object"}, "Principals")},
            }
        },
        "stream": {
            "get": {
                "summary": "WebSocket: live changes of a picture",
                "description": (
                    "Authenticate with `Authorization: Bearer`, or, from a browser, offer "
                    "the subprotocols `tessera.v1` and `bearer.<token>`. "
                    "Upgrade to a WebSocket, then send one Subscribe message. The server "
                    "answers with a snapshot (or, given `since` within the retained window, "
                    "the missed changes), then `changes` messages with `upserts` and "
                    "`removes` (tracks), `overlays` and `overlay_removes`, and a "
                    "`heartbeat` every few seconds; `alerts` and `chat` messages (what is "
                    "said in the picture's room) as they come."
                ),
                "requestBody": {"content": {"application/json": {"schema": _ref("Subscribe")}}},
                "responses": {"101": {"description": "Switching protocols"}},
            }
        },
    }


def _path_params(path: str) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in names
    ]


def openapi_document(routes: list[BaseRoute], public: set[str]) -> dict[str, Any]:
    """The document of ``routes``; those named in ``public`` need no token."""
    operations = _operations()
    paths: dict[str, Any] = {}
    for route in routes:
        if not isinstance(route, Route | WebSocketRoute):
            continue
        item = operations[route.name]
        for operation in item.values():
            if route.name in public:
                operation["security"] = []
            else:
                operation["responses"] = {**REFUSALS, **operation["responses"]}
        params = _path_params(route.path)
        if params:
            for operation in item.values():
                operation["parameters"] = [*params, *operation.get("parameters", [])]
        # One path may have several routes, one per method.
        paths.setdefault(route.path, {}).update(item)
    _, components = msgspec.json.schema_components(
        [
            ReportDoc,
            OverlayDoc,
            FieldError,
            Subscribe,
            Login,
            *ALERT_SCHEMAS.values(),
            *CHAT_SCHEMAS.values(),
        ],
        schema_hook=_schema_hook,
        ref_template="#/components/schemas/{name}",
    )
    components["Report"] = components.pop("ReportDoc")
    components["Overlay"] = components.pop("OverlayDoc")
    for name, type_ in (*ALERT_SCHEMAS.items(), *CHAT_SCHEMAS.items()):
        components[name] = components.pop(type_.__name__)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tessera API",
            "version": __version__,
            "description": "Live, fused common operational picture per audience.",
        },
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "tessera users token NAME issues one",
                }
            },
        },
    }
