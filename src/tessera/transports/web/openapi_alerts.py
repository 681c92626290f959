"""The OpenAPI operations of /api/v1/alert-rules and /api/v1/alerts (merged into the
document by `openapi`)."""

from __future__ import annotations

from typing import Any, Final

from tessera.alerting.model import Alert
from tessera.transports.web.alerts import AckDoc, RuleDoc

# The document's components these operations name (by the names they are given there).
ALERT_SCHEMAS: Final = {"AlertRule": RuleDoc, "AlertAck": AckDoc, "Alert": Alert}

PICTURE_PARAM: Final = {
    "name": "picture",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "The picture to read through (default: the first one the caller reads)",
}
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def alert_operations() -> dict[str, dict[str, Any]]:
    error = _json(_ERROR, "Error")
    rule = _ref("AlertRule")
    invalid = _json({"type": "object"}, "Invalid rule: every problem, by field")
    read_only = _json(_ERROR, "A rule made in the settings file (change it there)")
    body = {"required": True, "content": {"application/json": {"schema": rule}}}
    alert = _ref("Alert")
    return {
        "get_alert_rules": {
            "get": {
                "summary": "The picture's alert rules",
                "parameters": [PICTURE_PARAM],
                "responses": {"200": _json({"type": "object"}, "Rules"), "404": error},
            }
        },
        "post_alert_rule": {
            "post": {
                "summary": "Make an alert rule (operators, administrators; audited)",
                "description": (
                    "Kinds: enter, leave, dwell (with area, an overlay id; dwell_s), "
                    "new-hostile, proximity (distance_km), lost (lost_after_s), emergency, "
                    "new-imagery (optionally with area: imagery over it, else anywhere), "
                    "satellite-pass (lead_s: how long before a hostile imaging satellite's "
                    "pass over a watched unit it warns). "
                    "identities: the tracks watched (default by kind). margin_m: how far "
                    "past an edge an episode ends."
                ),
                "parameters": [PICTURE_PARAM],
                "requestBody": body,
                "responses": {
                    "201": _json({"type": "object"}, "The rule"),
                    "404": error,
                    "409": error,
                    "413": error,
                    "422": invalid,
                },
            }
        },
        "get_alert_rule": {
            "get": {
                "summary": "One alert rule",
                "responses": {"200": _json({"type": "object"}, "The rule"), "404": error},
            }
        },
        "put_alert_rule": {
            "put": {
                "summary": "Change an alert rule (its open alerts are cleared; audited)",
                "requestBody": body,
                "responses": {
                    "200": _json({"type": "object"}, "The rule"),
                    "404": error,
                    "409": read_only,
                    "413": error,
                    "422": invalid,
                },
            }
        },
        "delete_alert_rule": {
            "delete": {
                "summary": "Delete an alert rule (its open alerts are cleared; audited)",
                "responses": {"204": {"description": "Deleted"}, "404": error, "409": read_only},
            }
        },
        "get_alerts": {
            "get": {
                "summary": "The picture's alerts the caller may see, oldest first",
                "parameters": [
                    PICTURE_PARAM,
                    {
                        "name": "state",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["active", "all"]},
                        "description": "active (default): not cleared; all: cleared too",
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 5000},
                        "description": "The newest this many (default 200)",
                    },
                ],
                "responses": {
                    "200": _json({"type": "object"}, "Alerts"),
                    "400": error,
                    "404": error,
                },
            }
        },
        "post_alert_ack": {
            "post": {
                "summary": "Acknowledge an alert (audited)",
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _ref("AlertAck")}},
                },
                "responses": {
                    "200": _json(alert, "The alert, acknowledged"),
                    "404": error,
                    "413": error,
                    "422": error,
                },
            }
        },
    }
