"""The operations of the OpenAPI document of /api/v1, keyed by route name: those of the
reports, tracks, pictures, status, audit and stream routes here, the rest from their
own modules (``openapi_alerts``, ``openapi_chat``, ``openapi_overlays``,
``openapi_passes``, ``imagery_api``)."""

from __future__ import annotations

from typing import Any

from tessera.transports.web.federation_api import LINKS
from tessera.transports.web.feeds_api import FEEDS
from tessera.transports.web.imagery_api import imagery_operations
from tessera.transports.web.openapi_alerts import alert_operations
from tessera.transports.web.openapi_chat import chat_operations
from tessera.transports.web.openapi_overlays import overlay_operations
from tessera.transports.web.openapi_params import (
    AT_PARAM,
    AUDIT_PARAMS,
    ERROR,
    FEATURE,
    FILTER_PARAMS,
    PICTURE_PARAM,
    SESSION,
    TRAIL_PARAM,
    WITH_OVERLAYS_PARAM,
    json_response,
    schema_ref,
)
from tessera.transports.web.openapi_passes import passes_operations
from tessera.transports.web.openapi_status import HEALTH, STATUS


def route_operations() -> dict[str, dict[str, Any]]:
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
                        "application/json": {
                            "schema": {"type": "array", "items": schema_ref("Report")}
                        }
                    },
                },
                "responses": {
                    "202": json_response(
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
                    "403": json_response(
                        {
                            "type": "object",
                            "properties": {
                                "errors": {"type": "array", "items": schema_ref("FieldError")}
                            },
                        },
                        "A label the sender may not use, or a source not registered to it",
                    ),
                    "413": ERROR,
                    "415": ERROR,
                    "422": json_response(
                        {
                            "type": "object",
                            "properties": {
                                "errors": {"type": "array", "items": schema_ref("FieldError")}
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
                "responses": {
                    "200": json_response(schema_ref("Report"), "The report"),
                    "404": ERROR,
                },
            }
        },
        "get_pictures": {
            "get": {
                "summary": "The pictures (audiences) this server keeps",
                "responses": {"200": json_response({"type": "object"}, "Pictures")},
            }
        },
        "get_tracks": {
            "get": {
                "summary": "The picture's tracks as a GeoJSON FeatureCollection",
                "parameters": [
                    PICTURE_PARAM,
                    *FILTER_PARAMS,
                    AT_PARAM,
                    TRAIL_PARAM,
                    WITH_OVERLAYS_PARAM,
                ],
                "responses": {
                    "200": json_response({"type": "object"}, "FeatureCollection"),
                    "400": ERROR,
                    "410": ERROR,
                },
            }
        },
        "get_track": {
            "get": {
                "summary": "One track, with its lineage (the reports that built it)",
                "parameters": [PICTURE_PARAM],
                "responses": {"200": json_response(FEATURE, "Track with lineage"), "404": ERROR},
            }
        },
        "get_health": {
            "get": {
                "summary": "Liveness, and whether fusion has caught up since the start",
                "responses": {"200": json_response(HEALTH, "Health")},
            }
        },
        "get_status": {
            "get": {
                "summary": "How far fusion has caught up with the journal (administrators)",
                "responses": {"200": json_response(STATUS, "Status")},
            }
        },
        "get_feeds": {
            "get": {
                "summary": "The sensor feeds' status: connected, messages/s, errors, last message",
                "responses": {"200": json_response(FEEDS, "Feeds")},
            }
        },
        "get_federation": {
            "get": {
                "summary": "The federation links' status: connected, behind, sent, refused",
                "responses": {"200": json_response(LINKS, "Federation links")},
            }
        },
        "post_login": {
            "post": {
                "summary": "Sign in: check a token and say whose it is",
                "description": "Failed attempts count against the caller's address.",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": schema_ref("Login")}},
                },
                "responses": {
                    "200": json_response(SESSION, "The principal and its pictures"),
                    "401": ERROR,
                    "429": ERROR,
                },
            }
        },
        "get_me": {
            "get": {
                "summary": "The caller: principal, pictures it may read, token expiry",
                "responses": {"200": json_response(SESSION, "The principal and its pictures")},
            }
        },
        "get_audit": {
            "get": {
                "summary": "The audit trail, oldest first (administrators)",
                "parameters": AUDIT_PARAMS,
                "responses": {
                    "200": json_response({"type": "object"}, "Audit events"),
                    "400": ERROR,
                },
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
                "responses": {"200": json_response({"type": "object"}, "Principals")},
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
                "requestBody": {
                    "content": {"application/json": {"schema": schema_ref("Subscribe")}}
                },
                "responses": {"101": {"description": "Switching protocols"}},
            }
        },
    }
