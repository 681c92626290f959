"""What every /ogc handler shares: the collections the caller may read, absolute links,
and JSON answers (errors in the REST API's shape)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from starlette.requests import Request

from tessera.core.labels import Picture
from tessera.transports.web.api import caller, readable
from tessera.transports.web.context import Served
from tessera.transports.web.ogc.features import Kind
from tessera.transports.web.ogc.params import FORMAT_ONLY, check_parameters
from tessera.transports.web.params import ParameterError
from tessera.transports.web.refusals import record_refused_read
from tessera.transports.web.responses import JSONResponse

PREFIX: Final = "/ogc"
JSON: Final = "application/json"
GEOJSON: Final = "application/geo+json"
OPENAPI_JSON: Final = "application/vnd.oai.openapi+json;version=3.0"
CRS84: Final = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@dataclass(frozen=True)
class Collection:
    id: str
    picture: Picture
    kind: Kind


def tessera_of(request: Request) -> Served:
    tessera: Served = request.app.state.tessera
    return tessera


def readable_collections(request: Request) -> list[Collection]:
    """Tracks then overlays of each picture the caller reads, in configured order. The kind
    ends the id, so no two collections share one, whatever their pictures are called."""
    return [
        Collection(f"{picture.name}-{kind.value}", picture, kind)
        for picture in readable(request)
        for kind in Kind
    ]


def collection_or_404(request: Request) -> Collection | JSONResponse:
    wanted = request.path_params["collection_id"]
    for collection in readable_collections(request):
        if collection.id == wanted:
            return collection
    # On the trail as a refused read of the picture the id names (the id itself when it
    # names none).
    picture, dash, kind = wanted.rpartition("-")
    named = picture if dash and kind in {k.value for k in Kind} else wanted
    tessera = tessera_of(request)
    record_refused_read(tessera, caller(request), "ogc.read", named, collection=wanted)
    # The same answer whether it does not exist or belongs to a picture not the caller's.
    return problem(404, f"no collection {wanted!r}")


def refusal(request: Request, allowed: frozenset[str] = FORMAT_ONLY) -> JSONResponse | None:
    """A 400 naming the parameter if the query is not one ``allowed`` takes, else None."""
    try:
        check_parameters(request.query_params, allowed)
    except ParameterError as exc:
        return problem(400, str(exc), exc.name)
    return None


def root_url(request: Request) -> str:
    """The absolute /ogc URL as the client addressed it (its Host, its scheme)."""
    return str(request.base_url).rstrip("/") + PREFIX


def collection_url(root: str, collection_id: str) -> str:
    return f"{root}/collections/{quote(collection_id, safe='')}"


def link(href: str, rel: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def answer(content: Any, media_type: str = JSON) -> JSONResponse:
    # Cache-Control: no-store comes from the application's SecureHeaders, as for /api/v1.
    return JSONResponse(content, media_type=media_type)


def problem(status: int, message: str, parameter: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if parameter is not None:
        body["parameter"] = parameter
    return JSONResponse(body, status_code=status)
