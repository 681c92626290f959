"""``GET /api/v1/tracks?at=TIME``: a picture's tracks as they were at a past time (the
picture read through the same rule as the live one: only a picture the caller may read,
so only past tracks built from what it may see)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tessera.codecs.geojson import feature_collection, track_feature
from tessera.core.labels import Picture
from tessera.history.seek import NotRetainedError
from tessera.store.base import TrackQuery
from tessera.transports.web.context import Served
from tessera.transports.web.params import ParameterError
from tessera.transports.web.responses import JSONResponse, error


def parse_at(name: str, text: str, now: datetime) -> datetime:
    """An ISO 8601 time with its offset (``Z`` for UTC), not in the future."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ParameterError(name, "must be an ISO 8601 time, e.g. 2026-12-04T09:30:00Z") from None
    if moment.tzinfo is None:
        raise ParameterError(name, "must give its offset from UTC (e.g. Z)")
    moment = moment.astimezone(UTC)
    if moment > now:
        raise ParameterError(name, "is in the future: the past only")
    return moment


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def past_tracks(
    tessera: Served, picture: Picture, query: TrackQuery, at_text: str
) -> JSONResponse:
    try:
        at = parse_at("at", at_text, tessera.clock())
    except ParameterError as exc:
        return error(400, str(exc), parameter=exc.name)
    if tessera.history is None:
        return error(404, "this server keeps no history")
    try:
        past = await tessera.history.history.seek(picture, at)
    except NotRetainedError as exc:
        return error(410, str(exc), parameter="at")
    features: list[dict[str, Any]] = [track_feature(track) for track in past.tracks(query)]
    return JSONResponse(
        feature_collection(
            features, picture=picture.name, at=iso(at), count=len(features), seq=None
        )
    )
