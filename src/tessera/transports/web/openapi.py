"""The OpenAPI 3.1 document of /api/v1.

Schemas come from the same msgspec types that validate input, so the document cannot
drift from what the server accepts; a test checks every route is described. The
operations are ``openapi_operations``'s, the pieces they share ``openapi_params``'s.
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
from tessera.transports.web.account import Login
from tessera.transports.web.openapi_alerts import ALERT_SCHEMAS
from tessera.transports.web.openapi_chat import CHAT_SCHEMAS
from tessera.transports.web.openapi_operations import route_operations
from tessera.transports.web.openapi_params import json_response
from tessera.transports.web.stream import Subscribe


def _schema_hook(type_: type) -> dict[str, Any]:
    if type_ is Grading:
        return {
            "type": "string",
            "pattern": "^[A-F][1-6]$",
            "description": "Admiralty code: source reliability A-F, information credibility 1-6",
        }
    raise NotImplementedError


REFUSALS = {
    "401": json_response({"type": "object"}, "No valid token"),
    "403": json_response({"type": "object"}, "The token's principal lacks the role"),
    "429": json_response({"type": "object"}, "Too many requests or failed sign-ins"),
}


def _path_params(path: str) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in names
    ]


def openapi_document(routes: list[BaseRoute], public: set[str]) -> dict[str, Any]:
    """The document of ``routes``; those named in ``public`` need no token."""
    operations = route_operations()
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
