"""The /ogc routes and who may call them (merged into the application's route table)."""

from __future__ import annotations

from typing import Final

from starlette.routing import BaseRoute

from tessera.transports.web.auth import Policy

OGC_POLICIES: Final[dict[str, Policy]] = {}


def ogc_routes() -> list[BaseRoute]:
    return []
