"""The landing page, the conformance declaration and the API definition of /ogc."""

from __future__ import annotations

from typing import Final

from starlette.requests import Request

from tessera.transports.web.ogc.common import JSON, OPENAPI_JSON, answer, link, refusal, root_url
from tessera.transports.web.ogc.openapi import ogc_openapi
from tessera.transports.web.responses import JSONResponse

CONFORMANCE: Final = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
)


async def get_landing(request: Request) -> JSONResponse:
    if (refused := refusal(request)) is not None:
        return refused
    root = root_url(request)
    return answer(
        {
            "title": "Tessera",
            "description": (
                "The pictures you may read, as OGC API - Features collections: the fused "
                "tracks and the overlays of each."
            ),
            "links": [
                link(root, "self", JSON, "This document"),
                link(f"{root}/api", "service-desc", OPENAPI_JSON, "The API definition"),
                link(f"{root}/conformance", "conformance", JSON, "Conformance classes"),
                link(f"{root}/collections", "data", JSON, "The collections"),
            ],
        }
    )


async def get_conformance(request: Request) -> JSONResponse:
    if (refused := refusal(request)) is not None:
        return refused
    return answer({"conformsTo": list(CONFORMANCE)})


async def get_api(request: Request) -> JSONResponse:
    if (refused := refusal(request)) is not None:
        return refused
    return answer(ogc_openapi(root_url(request)), OPENAPI_JSON)
