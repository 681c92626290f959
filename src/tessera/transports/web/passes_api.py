"""``GET /api/v1/passes``: the passes of the satellites a picture's readers may know of over
a place (a point, an overlay's centre, a track) in the next hours; ``GET
/api/v1/satellites``: those satellites on the map."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any, Final

from starlette.requests import Request

from tessera.codecs.json import to_builtins
from tessera.core.model import Identity
from tessera.core.space.catalog import visible_to
from tessera.core.space.passes import Sites
from tessera.core.space.predict import passes_over
from tessera.core.space.tracks import satellite_features
from tessera.transports.web.api import picture_or_404
from tessera.transports.web.context import Served
from tessera.transports.web.params import ParameterError, parse_choices
from tessera.transports.web.responses import JSONResponse, error

MAX_HOURS: Final = 48.0
DEFAULT_HOURS: Final = 6.0

PASS: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "norad_id": {"type": "integer"},
        "name": {"type": "string"},
        "identity": {"type": "string"},
        "imaging": {"type": "boolean"},
        "label": {"type": "object"},
        "rise": {"type": ["string", "null"], "format": "date-time"},
        "culmination": {"type": "string", "format": "date-time"},
        "set": {"type": ["string", "null"], "format": "date-time"},
        "max_elevation": {"type": "number", "description": "degrees"},
        "off_nadir": {"type": "number", "description": "degrees, at culmination"},
        "in_field": {"type": "boolean"},
    },
}
PASSES: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["picture", "place", "start", "end", "passes"],
    "properties": {
        "picture": {"type": "string"},
        "place": {"type": "object"},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "passes": {"type": "array", "items": PASS},
    },
}


def _number(params: Any, name: str, low: float, high: float, default: float | None) -> float:
    raw = params.get(name)
    if raw is None:
        if default is None:
            raise ParameterError(name, "is required")
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ParameterError(name, f"is not a number: {raw[:40]!r}") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise ParameterError(name, f"must be between {low:g} and {high:g}")
    return value


def _place(tessera: Served, picture: str, params: Any) -> dict[str, Any] | None:
    """The place asked about, or None when the overlay or track is not in the picture."""
    if "area" in params:
        overlay = tessera.store.overlay(picture, params["area"])
        if overlay is None:
            return None
        lons = [c[0] for c in overlay.coordinates]
        lats = [c[1] for c in overlay.coordinates]
        return {
            "kind": "area",
            "id": overlay.id,
            "lat": (min(lats) + max(lats)) / 2,
            "lon": (min(lons) + max(lons)) / 2,
        }
    if "track" in params:
        track = tessera.store.track(picture, params["track"])
        if track is None:
            return None
        return {
            "kind": "track",
            "id": track.id,
            "lat": track.position.lat,
            "lon": track.position.lon,
        }
    return {
        "kind": "point",
        "lat": _number(params, "lat", -90.0, 90.0, None),
        "lon": _number(params, "lon", -180.0, 180.0, None),
    }


async def get_passes(request: Request) -> JSONResponse:
    tessera: Served = request.app.state.tessera
    picture = picture_or_404(request, "passes.read")
    if isinstance(picture, JSONResponse):
        return picture
    params = request.query_params
    try:
        hours = _number(params, "hours", 0.1, MAX_HOURS, DEFAULT_HOURS)
        mask = _number(params, "mask", 0.0, 60.0, 0.0)
        identities = parse_choices("identity", params.get("identity", "").split(","), Identity)
        place = _place(tessera, picture.name, params)
    except ParameterError as exc:
        return error(400, str(exc), parameter=exc.name)
    if place is None:
        # The same answer whether it does not exist or is not for this caller.
        return error(404, f"nothing of that id in picture {picture.name!r}")
    satellites = visible_to(picture, tessera.satellites.satellites(), tessera.scheme)
    if identities:
        satellites = [s for s in satellites if s.identity in identities]
    if params.get("imaging") == "true":
        satellites = [s for s in satellites if s.imaging]
    start = tessera.clock()
    span = timedelta(hours=hours)
    found = passes_over(
        satellites, Sites([place["lat"]], [place["lon"]], [0.0]), start, span, mask_degrees=mask
    )
    rows = [{k: v for k, v in to_builtins(p).items() if k != "site"} for p in found]
    return JSONResponse(
        {
            "picture": picture.name,
            "place": place,
            "start": start.isoformat(),
            "end": (start + span).isoformat(),
            "passes": rows,
        }
    )


SATELLITES: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {"type": {"const": "FeatureCollection"}, "features": {"type": "array"}},
}


async def get_satellites(request: Request) -> JSONResponse:
    """The satellites the picture admits, now: positions, ground tracks and footprints."""
    tessera: Served = request.app.state.tessera
    picture = picture_or_404(request, "satellites.read")
    if isinstance(picture, JSONResponse):
        return picture
    satellites = visible_to(picture, tessera.satellites.satellites(), tessera.scheme)
    features = satellite_features(satellites, tessera.clock())
    return JSONResponse(
        {"type": "FeatureCollection", "picture": picture.name, "features": features}
    )
