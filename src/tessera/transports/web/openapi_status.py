"""The OpenAPI schemas of health (public: a fraction, never a count) and status (admins)."""

from __future__ import annotations

from typing import Any

_FUSION: dict[str, Any] = {
    "type": "string",
    "enum": ["caught_up", "catching_up"],
    "description": "Whether fusion has replayed the journal it found at start "
    "(meanwhile the pictures are those of the last checkpoint, moving on)",
}
HEALTH: dict[str, Any] = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"const": "ok"},
        "fusion": _FUSION,
        "progress": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "While catching up: the part of the replay done (a fraction only)",
        },
        "alerts": {
            "type": "object",
            "description": "Present where webhooks are configured",
            "properties": {
                "webhooks": {
                    "type": "string",
                    "enum": ["ok", "failing"],
                    "description": "failing: a webhook delivery is being retried or was "
                    "given up since the last one delivered (details in /status)",
                }
            },
        },
        "feeds": {
            "type": "object",
            "description": "Sensor feeds configured and connected (counts only; names and "
            "rates at /api/v1/feeds)",
            "properties": {
                "configured": {"type": "integer"},
                "connected": {"type": "integer"},
            },
        },
        "federation": {
            "type": "object",
            "description": "Federation links configured and connected either way (counts "
            "only; the rest at /api/v1/federation)",
            "properties": {
                "links": {"type": "integer"},
                "connected": {"type": "integer"},
            },
        },
        "imagery": {
            "type": "object",
            "description": "Imagery sources configured, current and failing (counts only; "
            "names and errors at /api/v1/imagery)",
            "properties": {
                "configured": {"type": "integer"},
                "current": {"type": "integer"},
                "failing": {"type": "integer"},
            },
        },
    },
}
_POSITION: dict[str, Any] = {"type": ["integer", "null"]}
STATUS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status": {"const": "ok"},
        "role": {"type": "string"},
        "journal_seq": {"type": "integer", "description": "The journal's last entry"},
        "fused_seq": {**_POSITION, "description": "The last entry fusion has applied"},
        "fusion": _FUSION,
        "replay_target": {
            "type": "integer",
            "description": "The journal's last entry at start: the replay runs up to it",
        },
        "checkpoint_seq": {**_POSITION, "description": "The last saved checkpoint's entry"},
        "restored_from": {
            **_POSITION,
            "description": "The checkpoint's entry this run resumed from (null: none)",
        },
        "alerts": {
            "type": "object",
            "description": "Open alerts, rules, and each webhook's deliveries: queued, "
            "delivered, retries, failed (given up), dropped (queue full), last error",
        },
    },
}
