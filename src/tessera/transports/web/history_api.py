"""``GET /api/v1/tracks?at=TIME``: a picture's tracks as they were at a past time (the
picture read through the same rule as the live one: only a picture the caller may read,
so only past tracks built from what it may see). With ``trail=SECONDS``, each track's
path over that long before ``at`` comes too (``trails``: coordinates and times by id); with
``overlays=true``, the overlays as they were then (``overlays``: features), so one seek
draws the whole past picture. ``GET /api/v1/overlays?at=TIME``: the overlays alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tessera.codecs.geojson import feature_collection, track_feature
from tessera.codecs.geojson_export import overlay_feature
from tessera.core.labels import Picture
from tessera.history.replay import PastPicture
from tessera.history.seek import NotRetainedError
from tessera.history.window import window_and_end
from tessera.store.base import TrackQuery
from tessera.transports.web.context import Served
from tessera.transports.web.params import ParameterError
from tessera.transports.web.responses import JSONResponse, error

MAX_TRAIL_S: Final = 3_600.0
# A trail's points: one per track every so many seconds of journal time at most.
TRAIL_EVERY_S: Final = 10.0


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


def parse_trail(text: str | None) -> float:
    """``trail``: seconds of each track's path before ``at`` (0: none), at most an hour."""
    if text is None:
        return 0.0
    try:
        seconds = float(text)
    except ValueError:
        raise ParameterError("trail", "must be a number of seconds") from None
    if not 0 <= seconds <= MAX_TRAIL_S:
        raise ParameterError("trail", f"must be from 0 to {MAX_TRAIL_S:g} seconds")
    return seconds


def parse_flag(name: str, text: str | None) -> bool:
    if text is None or text == "false":
        return False
    if text == "true":
        return True
    raise ParameterError(name, "must be true or false")


def overlay_features(past: PastPicture, query: TrackQuery) -> list[dict[str, Any]]:
    overlays = sorted(past.overlays(query), key=lambda overlay: overlay.id)
    return [overlay_feature(overlay) for overlay in overlays]


async def past_overlays(
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
    features = overlay_features(past, query)
    return JSONResponse(
        feature_collection(
            features, picture=picture.name, at=iso(at), count=len(features), seq=None
        )
    )


async def past_tracks(
    tessera: Served,
    picture: Picture,
    query: TrackQuery,
    at_text: str,
    trail_text: str | None,
    overlays_text: str | None = None,
) -> JSONResponse:
    try:
        at = parse_at("at", at_text, tessera.clock())
        trail = parse_trail(trail_text)
        with_overlays = parse_flag("overlays", overlays_text)
    except ParameterError as exc:
        return error(400, str(exc), parameter=exc.name)
    if tessera.history is None:
        return error(404, "this server keeps no history")
    history = tessera.history.history
    trails: dict[str, Any] = {}
    try:
        if trail > 0:
            start = at - timedelta(seconds=trail)
            paths, past = await window_and_end(history, picture, start, at, every_s=TRAIL_EVERY_S)
        else:
            paths, past = [], await history.seek(picture, at)
    except NotRetainedError as exc:
        return error(410, str(exc), parameter="at")
    tracks = past.tracks(query)
    shown = {track.id for track in tracks}
    for path in paths:
        if path.track.id in shown and path.ended is None:
            trails[path.track.id] = {
                "coordinates": [[point.lon, point.lat] for point in path.points],
                "times": [iso(point.at) for point in path.points],
            }
    features: list[dict[str, Any]] = [track_feature(track) for track in tracks]
    members: dict[str, Any] = {"picture": picture.name, "at": iso(at), "count": len(features)}
    if trail > 0:
        members["trails"] = trails
    if with_overlays:
        members["overlays"] = overlay_features(past, query)
    return JSONResponse(feature_collection(features, **members, seq=None))
