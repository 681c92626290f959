"""The /ogc routes and who may call them (merged into the application's route table)."""

from __future__ import annotations

from typing import Final

from starlette.routing import BaseRoute, Route

from tessera.core.model import Role
from tessera.transports.web.auth import Policy, requires
from tessera.transports.web.ogc.collections import get_collection, get_collections
from tessera.transports.web.ogc.common import PREFIX
from tessera.transports.web.ogc.items import get_item, get_items
from tessera.transports.web.ogc.landing import get_api, get_conformance, get_landing

# Reading features is reading the picture: the same role as the REST API's tracks.
OGC_POLICIES: Final[dict[str, Policy]] = {
    "ogc_landing": requires(Role.VIEWER),
    "ogc_conformance": requires(Role.VIEWER),
    "ogc_api": requires(Role.VIEWER),
    "ogc_collections": requires(Role.VIEWER),
    "ogc_collection": requires(Role.VIEWER),
    "ogc_items": requires(Role.VIEWER),
    "ogc_item": requires(Role.VIEWER),
}


def ogc_routes() -> list[BaseRoute]:
    collection = f"{PREFIX}/collections/{{collection_id}}"
    return [
        Route(PREFIX, get_landing, methods=["GET"], name="ogc_landing"),
        Route(f"{PREFIX}/conformance", get_conformance, methods=["GET"], name="ogc_conformance"),
        Route(f"{PREFIX}/api", get_api, methods=["GET"], name="ogc_api"),
        Route(f"{PREFIX}/collections", get_collections, methods=["GET"], name="ogc_collections"),
        Route(collection, get_collection, methods=["GET"], name="ogc_collection"),
        Route(f"{collection}/items", get_items, methods=["GET"], name="ogc_items"),
        Route(f"{collection}/items/{{feature_id}}", get_item, methods=["GET"], name="ogc_item"),
    ]
