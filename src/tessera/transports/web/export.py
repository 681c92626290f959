"""``GET /api/v1/export``: a picture the caller may read as a file for other systems (NVG
2.0.2, GeoJSON), audited like every export."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from starlette.requests import Request
from starlette.responses import Response

from tessera.codecs.geojson_export import picture_feature_collection
from tessera.codecs.json import encode
from tessera.codecs.nvg_write import write_nvg
from tessera.core.banners import picture_level
from tessera.security.base import AuditEvent
from tessera.store.base import TrackQuery
from tessera.transports.web.api import caller, picture_or_404
from tessera.transports.web.responses import JSONResponse, error

if TYPE_CHECKING:
    from tessera.app import Tessera

# format: (media type, file extension)
FORMATS: Final = {
    "nvg": ("application/xml", "nvg"),
    "geojson": ("application/geo+json", "geojson"),
}


async def get_export(request: Request) -> Response:
    tessera: Tessera = request.app.state.tessera
    picture = picture_or_404(request)
    if isinstance(picture, JSONResponse):
        return picture
    kind = request.query_params.get("format", "")
    if kind not in FORMATS:
        known = ", ".join(FORMATS)
        return error(400, f"format: must be one of {known}", parameter="format")
    _, tracks = tessera.store.tracks(picture.name, TrackQuery())
    classification = picture_level(picture, tessera.scheme)
    now = tessera.clock()
    if kind == "nvg":
        body = write_nvg(tracks, [], picture=picture.name, classification=classification, now=now)
    else:
        collection = picture_feature_collection(
            tracks, [], picture=picture.name, classification=classification
        )
        body = encode(collection)
    who = caller(request)
    tessera.audit.record(
        AuditEvent(
            at=now,
            principal=who.principal.name,
            action="export",
            target=picture.name,
            address=who.address,
            detail={"format": kind, "tracks": len(tracks)},
        )
    )
    media_type, extension = FORMATS[kind]
    filename = f"{picture.name}.{extension}"
    headers = {"content-disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=media_type, headers=headers)
