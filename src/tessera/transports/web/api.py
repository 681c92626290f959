"""REST handlers for /api/v1: ingest reports, read pictures, tracks and reports.

Every read goes through the caller's pictures: a picture the caller may not read, and a
track or report outside the picture asked for, answer 404, exactly as one that does not
exist. Every report submitted carries a label its sender could itself read.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tessera.codecs.errors import BatchTooLargeError, DecodeError
from tessera.codecs.geojson import feature_collection, track_feature
from tessera.codecs.json import to_builtins
from tessera.core.banners import banner, picture_level
from tessera.core.labels import Picture, admits
from tessera.core.model import Report
from tessera.journal.base import JournalClosedError, JournalUnavailableError
from tessera.security.base import AuditEvent
from tessera.security.gate import Caller
from tessera.security.policy import readable_pictures, submission_refusal
from tessera.security.scoping import Submitter
from tessera.transports.web import history_api
from tessera.transports.web.context import Served
from tessera.transports.web.params import ParameterError, track_query
from tessera.transports.web.refusals import record_refused_read
from tessera.transports.web.responses import JSONResponse, error


class BodyTooLargeError(Exception):
    pass


def _tessera(request: Request) -> Served:
    tessera: Served = request.app.state.tessera
    return tessera


def caller(request: Request) -> Caller:
    """The authenticated caller (the middleware lets no one else through)."""
    found: Caller | None = request.state.caller
    if found is None:
        raise RuntimeError("a guarded handler ran without a caller")
    return found


def readable(request: Request) -> list[Picture]:
    tessera = _tessera(request)
    return readable_pictures(caller(request).principal, tessera.pictures.values(), tessera.scheme)


def picture_or_404(request: Request, action: str) -> Picture | JSONResponse:
    """The picture the request names (else the caller's first), if the caller may read it;
    otherwise a 404, with the refusal of ``action`` on the audit trail."""
    pictures = readable(request)
    name = request.query_params.get("picture")
    if name is None:
        if not pictures:
            record_refused_read(_tessera(request), caller(request), action, None)
            return error(404, "you may read no picture: ask an administrator")
        return pictures[0]
    for picture in pictures:
        if picture.name == name:
            return picture
    record_refused_read(_tessera(request), caller(request), action, name)
    # The same answer whether it does not exist or is not for this caller.
    return error(404, f"no picture named {name!r}")


def picture_summary(tessera: Served, picture: Picture) -> dict[str, Any]:
    scheme = tessera.scheme
    return {
        "name": picture.name,
        "description": picture.description,
        "classification": picture_level(picture, scheme),
        "releasable_to": picture.rule.releasable_to,
        "banner": to_builtins(banner(picture, scheme, tessera.settings.banner_colours)),
    }


async def read_body(request: Request, limit: int) -> bytes:
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
        body = await read_body(request, limit)
    except BodyTooLargeError:
        return error(413, f"the body is larger than {limit} bytes; send smaller batches")
    sender = caller(request)
    try:
        reports = tessera.codec.decode_batch(
            body,
            now=tessera.clock(),
            new_id=tessera.new_report_id,
            default_label=sender.principal.default_label,
        )
    except BatchTooLargeError as exc:
        return error(413, exc.errors[0].reason)
    except DecodeError as exc:
        return JSONResponse({"error": "invalid reports", "errors": exc.errors}, status_code=422)
    submitter = await tessera.submitter(sender.principal)
    refusals = _refusals(tessera, sender, submitter, reports)
    if refusals:
        reason = "labels you may not use" if refusals[0]["field"] == "label" else None
        _audit_write(
            tessera,
            sender,
            "reports.submit",
            "denied",
            {"refused": len(refusals), "fields": sorted({r["field"] for r in refusals})},
        )
        return JSONResponse(
            {"error": reason or "sources you may not report as", "errors": refusals},
            status_code=403,
        )
    owned = [submitter.own(report) for report in reports]
    try:
        await tessera.journal.append(owned)
    except JournalClosedError:
        return error(503, "the server is shutting down; retry")
    except JournalUnavailableError:
        # Maybe stored, maybe not: the same request again is safe (ids de-duplicate).
        return error(503, "the journal did not confirm the write; send it again", retry=True)
    _audit_write(tessera, sender, "reports.submit", "ok", {"reports": len(reports)})
    # Nothing here depends on what anybody else wrote: a repeat answers as the first did.
    return JSONResponse({"accepted": [report.id for report in owned]}, status_code=202)


def _refusals(
    tessera: Served, sender: Caller, submitter: Submitter, reports: list[Report]
) -> list[dict[str, Any]]:
    """Every report its sender may not send: a label it could not read itself, a source
    (or, for a unit's own report, a subject) not registered to it."""
    refusals: list[dict[str, Any]] = []
    for index, report in enumerate(reports):
        if reason := submission_refusal(sender.principal, report.label, tessera.scheme):
            refusals.append({"index": index, "field": "label", "reason": reason})
        elif refused := submitter.refusal(report):
            refusals.append({"index": index, "field": refused.field, "reason": refused.reason})
    refusals.sort(key=lambda refusal: refusal["field"] != "label")
    return refusals


def _audit_write(
    tessera: Served, sender: Caller, action: str, outcome: str, detail: dict[str, Any]
) -> None:
    tessera.audit.record(
        AuditEvent(
            at=tessera.clock(),
            principal=sender.principal.name,
            action=action,
            outcome=outcome,
            address=sender.address,
            detail=detail,
        )
    )


async def get_report(request: Request) -> JSONResponse:
    """A report, if a picture the caller reads admits it (the one named by ``picture``,
    or any of the caller's)."""
    tessera = _tessera(request)
    report_id = request.path_params["report_id"]
    if "picture" in request.query_params:
        picture = picture_or_404(request, "reports.read")
        if isinstance(picture, JSONResponse):
            return picture
        pictures = [picture]
    else:
        pictures = readable(request)
    # By the id readers see (its sender had it in the answer to its write).
    report = (await tessera.journal.reports([report_id])).get(report_id)
    if report is None or not any(admits(p, report.label, tessera.scheme) for p in pictures):
        return error(404, f"no report {report_id!r} in your pictures")
    return JSONResponse(to_builtins(report))


async def get_pictures(request: Request) -> JSONResponse:
    tessera = _tessera(request)
    return JSONResponse(
        {"pictures": [picture_summary(tessera, picture) for picture in readable(request)]}
    )


async def get_tracks(request: Request) -> JSONResponse:
    picture = picture_or_404(request, "tracks.read")
    if isinstance(picture, JSONResponse):
        return picture
    try:
        query = track_query(request.query_params)
    except ParameterError as exc:
        return error(400, str(exc), parameter=exc.name)
    if "at" in request.query_params:
        params = request.query_params
        return await history_api.past_tracks(
            _tessera(request), picture, query, params["at"], params.get("trail")
        )
    seq, tracks = _tessera(request).store.tracks(picture.name, query)
    features = [track_feature(track) for track in tracks]
    return JSONResponse(
        feature_collection(features, picture=picture.name, seq=seq, count=len(features))
    )


async def get_track(request: Request) -> JSONResponse:
    picture = picture_or_404(request, "tracks.read")
    if isinstance(picture, JSONResponse):
        return picture
    tessera = _tessera(request)
    track_id = request.path_params["track_id"]
    track = tessera.store.track(picture.name, track_id)
    if track is None:
        return error(404, f"no track {track_id!r} in picture {picture.name!r}")
    # The whole lineage window, newest first (the window is what bounds a track's memory;
    # older reports stay in the journal).
    detailed = await tessera.store.with_lineage(picture.name, track_id) or track
    shown = list(reversed(detailed.lineage))
    found = await tessera.journal.reports(shown)
    scheme = tessera.scheme
    reports: list[Any] = [
        to_builtins(found[report_id])
        for report_id in shown
        if report_id in found and admits(picture, found[report_id].label, scheme)
    ]
    feature = track_feature(track)
    feature["lineage"] = {"count": track.report_count, "window": len(shown), "reports": reports}
    return JSONResponse(feature)


async def get_health(request: Request) -> JSONResponse:
    """Alive, and whether fusion has caught up with the journal since the server started
    (while it replays, how far as a fraction): anyone may ask, so nothing here counts
    anybody's writes."""
    tessera = _tessera(request)
    body: dict[str, Any] = {"status": "ok"}
    # A gateway does not fuse: its pictures come from the change feed.
    if tessera.role != "gateway":
        if tessera.worker.caught_up:
            body["fusion"] = "caught_up"
        else:
            body["fusion"] = "catching_up"
            body["progress"] = round(tessera.worker.replay_progress(), 2)
    # Webhooks' health only where some are configured, as for feeds.
    alerts = tessera.alerts.health()
    if alerts["webhooks"] != "none":
        body["alerts"] = alerts
    if tessera.feeds.feeds:
        body["feeds"] = tessera.feeds.summary()
    if tessera.federation.links:
        body["federation"] = tessera.federation.summary()
    if tessera.tak_servers.links:
        body["tak_servers"] = tessera.tak_servers.summary()
    if tessera.imagery.sources:
        body["imagery"] = tessera.imagery.summary()
    return JSONResponse(body)


async def get_status(request: Request) -> JSONResponse:
    """Where the journal and fusion stand (administrators: the journal's position counts
    every partner's writes)."""
    tessera = _tessera(request)
    body: dict[str, Any] = {
        "status": "ok",
        "journal_seq": tessera.journal.last_seq,
        "fused_seq": None,
        "role": tessera.role,
    }
    if tessera.role != "gateway":
        worker = tessera.worker
        checkpointer = tessera.checkpointer
        body["fused_seq"] = worker.position
        body["fusion"] = "caught_up" if worker.caught_up else "catching_up"
        # The journal's last entry when the server started: the replay runs up to it.
        body["replay_target"] = worker.replay_target
        # Where the last checkpoint stands, and where this run resumed from (None: none).
        body["checkpoint_seq"] = (
            None if checkpointer is None or checkpointer.saved_at < 0 else checkpointer.saved_at
        )
        body["restored_from"] = None if checkpointer is None else checkpointer.restored_from
    body["alerts"] = tessera.alerts.status()
    if tessera.tak_servers.links:
        # Each TAK server link: address, state, counts and its last error.
        body["tak_servers"] = [link.as_json() for link in tessera.tak_servers.links.values()]
    return JSONResponse(body)
