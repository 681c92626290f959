"""``GET /api/v1/export?from=T1&to=T2&format=kml|gpkg``: a time window of a picture the
caller may read, for after-action review: KML with a ``gx:Track`` and a ``TimeSpan`` per
track (Google Earth plays it), or a GeoPackage with time fields (QGIS's temporal
controller), or its alerts and their acknowledgements as CSV (``format=csv``: those of
tracks the caller may read). Audited like every export; the files are built off the event
loop's thread, the journal replayed on it."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tessera.alerting.model import Alert
from tessera.alerting.visibility import may_receive
from tessera.core.banners import picture_level
from tessera.core.labels import Picture
from tessera.history.alerts_csv import write_alerts_csv
from tessera.history.geopackage import write_geopackage
from tessera.history.kml_window import iso, write_kml_window
from tessera.history.seek import NotRetainedError
from tessera.history.window import TrackPath, WindowTooLargeError, track_window
from tessera.security.base import AuditEvent
from tessera.transports.web.api import caller
from tessera.transports.web.context import Served
from tessera.transports.web.history_api import parse_at
from tessera.transports.web.params import ParameterError
from tessera.transports.web.responses import error

# format: (media type, file extension)
WINDOW_FORMATS: Final = {
    "kml": ("application/vnd.google-earth.kml+xml", "kml"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "csv": ("text/csv; charset=utf-8", "csv"),
}
MAX_WINDOW: Final = timedelta(days=7)


async def window_export(request: Request, tessera: Served, picture: Picture) -> Response:
    params = request.query_params
    kind = params.get("format", "")
    if kind not in WINDOW_FORMATS:
        known = ", ".join(WINDOW_FORMATS)
        return error(400, f"format: a time window exports as one of {known}", parameter="format")
    if "to" not in params:
        return error(400, "to: a window needs its end as well as from", parameter="to")
    try:
        now = tessera.clock()
        start = parse_at("from", params["from"], now)
        end = parse_at("to", params["to"], now)
    except ParameterError as exc:
        return error(400, str(exc), parameter=exc.name)
    if not start < end <= start + MAX_WINDOW:
        return error(400, "to: must be after from, within 7 days of it", parameter="to")
    if kind == "csv":
        return await _alerts_csv(request, tessera, picture, start, end)
    if tessera.history is None:
        return error(404, "this server keeps no history")
    try:
        paths = await track_window(tessera.history.history, picture, start, end)
    except NotRetainedError as exc:
        return error(410, str(exc), parameter="from")
    except WindowTooLargeError as exc:
        return error(413, str(exc))
    classification = picture_level(picture, tessera.scheme)
    if kind == "kml":
        body = await run_in_threadpool(
            write_kml_window,
            paths,
            picture=picture.name,
            classification=classification,
            start=start,
            end=end,
        )
    else:
        body = await run_in_threadpool(_geopackage, paths, picture.name, now)
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
                "from": params["from"],
                "to": params["to"],
                "tracks": len(paths),
            },
        )
    )
    media_type, extension = WINDOW_FORMATS[kind]
    stamp = start.strftime("%Y%m%dT%H%M%SZ")
    filename = f"{picture.name}-{stamp}.{extension}"
    headers = {"content-disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=media_type, headers=headers)


async def _alerts_csv(
    request: Request, tessera: Served, picture: Picture, start: datetime, end: datetime
) -> Response:
    """The window's alerts the caller may see (those of tracks it may read) and their
    acknowledgements, as CSV."""
    who = caller(request)
    store = tessera.alerts.store

    # The alert store answers on the event loop's thread (its connection lives there).
    until = end + timedelta(microseconds=1)
    alerts = [
        alert
        for alert in store.alerts(picture.name, until=until)
        if may_receive(who.principal, alert, tessera.pictures, tessera.scheme)
        and _touches(alert, start)
    ]
    acknowledgements = store.acknowledgements(picture.name, since=start, until=until)
    body = await run_in_threadpool(write_alerts_csv, alerts, acknowledgements, start, end)
    tessera.audit.record(
        AuditEvent(
            at=tessera.clock(),
            principal=who.principal.name,
            action="export",
            target=picture.name,
            address=who.address,
            detail={"format": "csv", "from": iso(start), "to": iso(end)},
        )
    )
    filename = f"{picture.name}-alerts-{start.strftime('%Y%m%dT%H%M%SZ')}.csv"
    headers = {"content-disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=WINDOW_FORMATS["csv"][0], headers=headers)


def _touches(alert: Alert, start: datetime) -> bool:
    """Raised before the window's end (asked of the store): whether anything of it falls
    in the window (its raising, clearing or acknowledgement, or it is still open)."""
    later = [alert.raised_at, alert.cleared_at, alert.acknowledged_at]
    return alert.cleared_at is None or any(moment and moment >= start for moment in later)


def _geopackage(paths: list[TrackPath], picture: str, now: datetime) -> bytes:
    with tempfile.TemporaryDirectory(prefix="tessera-gpkg-") as folder:
        target = Path(folder) / "window.gpkg"
        write_geopackage(target, paths, picture=picture, written_at=now)
        return target.read_bytes()
