"""REST handlers for /api/v1: ingest reports, read pictures, tracks and reports.

Every read goes through a picture: a track or report outside the picture asked for answers
404, exactly as one that does not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from tessera.codecs.errors import BatchTooLargeError, DecodeError
from tessera.codecs.geojson import feature_collection, track_feature
from tessera.codecs.json import to_builtins
from tessera.core.labels import Picture, admits
from tessera.journal.base import JournalClosedError
from tessera.transports.web.params import ParameterError, track_query
from tessera.transports.web.responses import JSONResponse, error

if TYPE_CHECKING:
    from tessera.app import Tessera


class BodyTooLargeError(Exception):
    pass


def _tessera(request: Request) -> Tessera:
    tessera: Tessera = request.app.state.tessera
    return tessera


def _picture(request: Request) -> Picture | JSONResponse:
    tessera = _tessera(request)
    name = request.query_params.get("picture", tessera.default_picture)
    picture = tessera.pictures.get(name)
    if picture is None:
        return error(404, f"no picture named {name!r}")
    return picture


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


async def post_reports(request: Request) -> JSONResponse:
    tessera = _tessera(request)
    content_type = request.headers.get("content-type", "application/json")
    if not content_type.split(";")[0].strip().lower().endswith("json"):
        return error(415, "send a JSON array of reports with Content-Type: application/json")
    limit = tessera.settings.max_body_bytes
    try:
        body = await _read_body(request, limit)
    except BodyTooLargeError:
        return error(413, f"the body is larger than {limit} bytes; send smaller batches")
    try:
        reports = tessera.codec.decode_batch(
            body, now=tessera.clock(), new_id=tessera.new_report_id
        )
    except BatchTooLargeError as exc:
        return error(413, exc.errors[0].reason)
    except DecodeError as exc:
        return JSONResponse({"error": "invalid reports", "errors": exc.errors}, status_code=422)
    try:
        result = await tessera.journal.append(reports)
    except JournalClosedError:
        return error(503, "the server is shutting down; retry")
    return JSONResponse(
        {
            "accepted": result.ids,
            "first_seq": result.first_seq,
            "last_seq": result.last_seq,
            "duplicates": result.duplicates,
        },
        status_code=202,
    )


async def get_report(request: Request) -> JSONResponse:
    picture = _picture(request)
    if isinstance(picture, JSONResponse):
        return picture
    tessera = _tessera(request)
    report_id = request.path_params["report_id"]
    found = await tessera.journal.reports([report_id])
    report = found.get(report_id)
    if report is None or not admits(picture, report.label, tessera.settings.scheme):
        return error(404, f"no report {report_id!r} in picture {picture.name!r}")
    return JSONResponse(to_builtins(report))


async def get_pictures(request: Request) -> JSONResponse:
    tessera = _tessera(request)
    return JSONResponse(
        {
            "pictures": [
                {"name": picture.name, "description": picture.description}
                for picture in tessera.pictures.values()
            ]
        }
    )


async def get_tracks(request: Request) -> JSONResponse:
    picture = _picture(request)
    if isinstance(picture, JSONResponse):
        return picture
    try:
        query = track_query(request.query_params)
    except ParameterError as exc:
        return error(400, str(exc), parameter=exc.name)
    seq, tracks = _tessera(request).store.tracks(picture.name, query)
    features = [track_feature(track) for track in tracks]
    return JSONResponse(
        feature_collection(features, picture=picture.name, seq=seq, count=len(features))
    )


async def get_track(request: Request) -> JSONResponse:
    picture = _picture(request)
    if isinstance(picture, JSONResponse):
        return picture
    tessera = _tessera(request)
    track_id = request.path_params["track_id"]
    track = tessera.store.track(picture.name, track_id)
    if track is None:
        return error(404, f"no track {track_id!r} in picture {picture.name!r}")
    # The whole lineage window, newest first (the window is what bounds a track's memory;
    # older reports stay in the journal).
    shown = list(reversed(track.lineage))
    found = await tessera.journal.reports(shown)
    scheme = tessera.settings.scheme
    reports: list[Any] = [
        to_builtins(found[report_id])
        for report_id in shown
        if report_id in found and admits(picture, found[report_id].label, scheme)
    ]
    feature = track_feature(track)
    feature["lineage"] = {"count": track.report_count, "window": len(shown), "reports": reports}
    return JSONResponse(feature)


async def get_health(request: Request) -> JSONResponse:
    tessera = _tessera(request)
    return JSONResponse(
        {
            "status": "ok",
            "journal_seq": tessera.journal.last_seq,
            "fused_seq": tessera.worker.position,
            "pictures": list(tessera.pictures),
        }
    )
