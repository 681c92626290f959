"""``GET /api/v1/export``: a picture the caller may read, tracks and overlays, as a file for
other systems (NVG 2.0.2, GeoJSON, KML, KMZ); every export is audited, and so is every
refused one. Dead tracks are left out unless ``status`` names them: a receiving system
would draw them as current.

Files are encoded off the event loop: a large picture, or the first drawing of its
symbols, must not hold up the stream and the other requests.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tessera.codecs.geojson_export import picture_feature_collection
from tessera.codecs.json import encode
from tessera.codecs.kml_write import icon_path, used_sidcs, write_kml, write_kmz
from tessera.codecs.nvg_write import write_nvg
from tessera.codecs.symbol_font import SymbolFontError
from tessera.codecs.symbol_icons import SymbolIcons
from tessera.core.banners import picture_level
from tessera.core.model import Track
from tessera.core.overlays import Overlay
from tessera.security.base import AuditEvent
from tessera.store.base import TrackQuery
from tessera.transports.web.api import caller, picture_or_404
from tessera.transports.web.context import Served
from tessera.transports.web.history_export import window_export
from tessera.transports.web.params import ParameterError, export_statuses
from tessera.transports.web.responses import JSONResponse, error

_log = logging.getLogger(__name__)

# format: (media type, file extension)
FORMATS: Final = {
    "nvg": ("application/xml", "nvg"),
    "geojson": ("application/geo+json", "geojson"),
    "kml": ("application/vnd.google-earth.kml+xml", "kml"),
    "kmz": ("application/vnd.google-earth.kmz", "kmz"),
}


async def get_export(request: Request) -> Response:
    tessera: Served = request.app.state.tessera
    picture = picture_or_404(request, "export")
    if isinstance(picture, JSONResponse):
        return picture
    if "from" in request.query_params:
        # A time window of the picture's past (after-action review).
        return await window_export(request, tessera, picture)
    kind = request.query_params.get("format", "")
    if kind not in FORMATS:
        known = ", ".join(FORMATS)
        return error(400, f"format: must be one of {known}", parameter="format")
    try:
        statuses = export_statuses(request.query_params.get("status"))
    except ParameterError as exc:
        return error(400, str(exc), parameter=exc.name)
    # Read together, with no await between: tracks and overlays of the same moment.
    _, tracks = tessera.store.tracks(picture.name, TrackQuery(statuses=statuses))
    _, overlays = tessera.store.overlays(picture.name, TrackQuery())
    classification = picture_level(picture, tessera.scheme)
    now = tessera.clock()
    try:
        icons = symbol_icons(request) if kind in ("kml", "kmz") else None
    except SymbolFontError as exc:
        # Refused, not drawn without letters: symbols would then share icons unseen.
        _log.error("export of %s as %s: %s", picture.name, kind, exc)
        return error(500, f"{kind} export cannot draw symbols: {exc}")
    body = await run_in_threadpool(
        _encode, kind, tracks, overlays, picture.name, classification, now, icons
    )
    who = caller(request)
    tessera.audit.record(
        AuditEvent(
            at=now,
            principal=who.principal.name,
            action="export",
            target=picture.name,
            address=who.address,
            detail={
                "format": kind,
                "status": sorted(statuses),
                "tracks": len(tracks),
                "overlays": len(overlays),
            },
        )
    )
    media_type, extension = FORMATS[kind]
    filename = f"{picture.name}.{extension}"
    headers = {"content-disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=media_type, headers=headers)


def symbol_icons(request: Request) -> SymbolIcons:
    """The application's one icon set, made on the first KML or KMZ export (an app that
    never exports never loads milsymbol's tables)."""
    state = request.app.state
    icons: SymbolIcons | None = getattr(state, "symbol_icons", None)
    if icons is None:
        icons = SymbolIcons()
        state.symbol_icons = icons
    return icons


def _encode(
    kind: str,
    tracks: Sequence[Track],
    overlays: Sequence[Overlay],
    picture: str,
    classification: str,
    now: datetime,
    icons: SymbolIcons | None,
) -> bytes:
    if kind == "nvg":
        return write_nvg(tracks, overlays, picture=picture, classification=classification, now=now)
    if kind == "geojson":
        collection = picture_feature_collection(
            tracks, overlays, picture=picture, classification=classification
        )
        return encode(collection)
    if icons is None:
        raise ValueError(f"{kind} needs symbol icons")
    drawn = icons.icons(used_sidcs(tracks, overlays))
    stand_ins = sorted(sidc for sidc, icon in drawn.items() if icon.fallback)
    if stand_ins:
        _log.warning(
            "export of %s: no symbol for SIDC %s, drawn as a generic one",
            picture,
            ", ".join(stand_ins),
        )
    hot_spots = {sidc: icon.hot_spot for sidc, icon in drawn.items()}
    if kind == "kml":
        # The same document as a KMZ's doc.kml: its icons are the KMZ's.
        return write_kml(
            tracks,
            overlays,
            picture=picture,
            classification=classification,
            icon_href=icon_path,
            hot_spots=hot_spots,
        )
    pngs = {sidc: icon.png for sidc, icon in drawn.items()}
    return write_kmz(
        tracks,
        overlays,
        picture=picture,
        classification=classification,
        icons=pngs,
        hot_spots=hot_spots,
    )
