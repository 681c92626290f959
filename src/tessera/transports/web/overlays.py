"""/api/v1/overlays: overlays through the caller's pictures, and creating, editing and
deleting them.

Every change is an overlay revision appended to the journal, acknowledged once durable,
and reaches the pictures (and their streams) through fusion like reports do. An overlay
outside the picture asked for answers 404, exactly as one that does not exist. Its author
may edit or delete it, and so may operators and administrators; nobody may give it a
label they could not read themselves.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from tessera.codecs.errors import DecodeError
from tessera.codecs.geojson import feature_collection
from tessera.codecs.geojson_export import overlay_feature
from tessera.core.model import ID_PATTERN, Label, Role
from tessera.core.overlays import Overlay, OverlayRevision
from tessera.journal.base import JournalClosedError, JournalUnavailableError
from tessera.security.base import AuditEvent
from tessera.security.gate import Caller
from tessera.security.policy import has_any_role, submission_refusal
from tessera.security.scoping import label_text
from tessera.store.base import TrackQuery
from tessera.transports.web import history_api
from tessera.transports.web.api import BodyTooLargeError, caller, picture_or_404, read_body
from tessera.transports.web.context import Served
from tessera.transports.web.params import ParameterError, parse_bbox
from tessera.transports.web.responses import JSONResponse, error

# The id a new overlay is decoded with, until its own is made from its label.
NEW_OVERLAY: Final = "new-overlay"
# 10,000 vertices with altitudes fit well inside this.
MAX_OVERLAY_BYTES: Final = 2 * 1024 * 1024
EDITORS: Final = (Role.OPERATOR, Role.ADMIN)
_IDENTIFIER: Final = re.compile(ID_PATTERN)


def _tessera(request: Request) -> Served:
    tessera: Served = request.app.state.tessera
    return tessera


async def get_overlays(request: Request) -> JSONResponse:
    picture = picture_or_404(request, "overlays.read")
    if isinstance(picture, JSONResponse):
        return picture
    bbox = request.query_params.get("bbox")
    try:
        query = TrackQuery(bbox=None if bbox is None else parse_bbox("bbox", bbox))
    except ParameterError as exc:
        return error(400, str(exc), parameter=exc.name)
    if "at" in request.query_params:
        at = request.query_params["at"]
        return await history_api.past_overlays(_tessera(request), picture, query, at)
    seq, overlays = _tessera(request).store.overlays(picture.name, query)
    features = [overlay_feature(overlay) for overlay in sorted(overlays, key=lambda o: o.id)]
    return JSONResponse(
        feature_collection(features, picture=picture.name, seq=seq, count=len(features))
    )


async def get_overlay(request: Request) -> JSONResponse:
    found = _visible_overlay(request, "overlays.read")
    if isinstance(found, JSONResponse):
        return found
    return JSONResponse(overlay_feature(found))


async def post_overlay(request: Request) -> JSONResponse:
    return await _write(request, None)


async def put_overlay(request: Request) -> JSONResponse:
    found = _visible_overlay(request, "overlays.edit")
    if isinstance(found, JSONResponse):
        return found
    return await _write(request, found)


async def delete_overlay(request: Request) -> Response:
    tessera = _tessera(request)
    found = _visible_overlay(request, "overlays.delete")
    if isinstance(found, JSONResponse):
        return found
    sender = caller(request)
    if refusal := _edit_refusal(sender, found):
        _audit(tessera, sender, "overlays.delete", "denied", found.id, {"reason": refusal})
        return error(403, refusal)
    revision = OverlayRevision(
        id=_revision_id(tessera, request, found.id, "deleted"),
        overlay_id=found.id,
        overlay=None,
        by=sender.principal.name,
    )
    failed = await _append(tessera, revision)
    if failed is not None:
        return failed
    _audit(tessera, sender, "overlays.delete", "ok", found.id, {})
    return Response(status_code=204)


async def _write(request: Request, current: Overlay | None) -> JSONResponse:
    """Create (``current`` None) or replace an overlay with the request's body."""
    tessera = _tessera(request)
    sender = caller(request)
    action = "overlays.create" if current is None else "overlays.edit"
    if current is not None and (refusal := _edit_refusal(sender, current)):
        _audit(tessera, sender, action, "denied", current.id, {"reason": refusal})
        return error(403, refusal)
    content_type = request.headers.get("content-type", "application/json")
    if not content_type.split(";")[0].strip().lower().endswith("json"):
        return error(415, "send the overlay as JSON with Content-Type: application/json")
    try:
        body = await read_body(request, MAX_OVERLAY_BYTES)
    except BodyTooLargeError:
        return error(413, f"the body is larger than {MAX_OVERLAY_BYTES} bytes")
    overlay_id = NEW_OVERLAY if current is None else current.id
    try:
        overlay = tessera.overlay_codec.decode(
            body,
            overlay_id=overlay_id,
            # The first author stays the author; the editor is in the revision and audit.
            author=sender.principal.name if current is None else current.author,
            default_label=sender.principal.default_label,
        )
    except DecodeError as exc:
        return JSONResponse({"error": "invalid overlay", "errors": exc.errors}, status_code=422)
    if refusal := submission_refusal(sender.principal, overlay.label, tessera.scheme):
        _audit(tessera, sender, action, "denied", overlay_id, {"reason": refusal})
        return error(403, f"label: {refusal}", field="label")
    if current is None:
        overlay_id = _new_overlay_id(tessera, request, overlay.label)
        overlay = msgspec.structs.replace(overlay, id=overlay_id)
    revision = OverlayRevision(
        id=_revision_id(tessera, request, overlay_id, label_text(overlay.label)),
        overlay_id=overlay_id,
        overlay=overlay,
        by=sender.principal.name,
    )
    failed = await _append(tessera, revision)
    if failed is not None:
        return failed
    _audit(tessera, sender, action, "ok", overlay_id, {})
    # Nothing here depends on what anybody else wrote: a repeat answers as the first did.
    body_out: dict[str, Any] = {
        "id": overlay_id,
        "revision": revision.id,
        "overlay": overlay_feature(overlay),
    }
    if current is not None:
        return JSONResponse(body_out)
    location = f"{request.url.path.rstrip('/')}/{overlay_id}"
    return JSONResponse(body_out, status_code=201, headers={"location": location})


def _visible_overlay(request: Request, action: str) -> Overlay | JSONResponse:
    picture = picture_or_404(request, action)
    if isinstance(picture, JSONResponse):
        return picture
    overlay_id = request.path_params["overlay_id"]
    found = _tessera(request).store.overlay(picture.name, overlay_id)
    if found is None:
        # The same answer whether it does not exist or is not for this caller.
        return error(404, f"no overlay {overlay_id!r} in picture {picture.name!r}")
    return found


def _edit_refusal(sender: Caller, overlay: Overlay) -> str | None:
    if sender.principal.name == overlay.author or has_any_role(sender.principal, EDITORS):
        return None
    return "only its author, an operator or an administrator may change this overlay"


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key", "").strip()
    return key if _IDENTIFIER.match(key) else None


def _new_overlay_id(tessera: Served, request: Request, label: Label) -> str:
    """A new overlay's id: new each time, unless the client gives an Idempotency-Key, when
    the same request again (the same key, under the same label) makes the same overlay."""
    key = _idempotency_key(request)
    if key is None:
        return tessera.new_report_id()
    what = f"create/{key}/{label_text(label)}"
    return "ov-" + tessera.ids.revision_id(caller(request).principal.name, what)


def _revision_id(tessera: Served, request: Request, overlay_id: str, what: str) -> str:
    """The revision's key: from the client's Idempotency-Key if it gives a usable one, the
    overlay and what the revision makes of it (its label, or its deletion), so the same
    request again is stored once and the key used for another label is another revision;
    else new. Either way scoped to the sender."""
    key = _idempotency_key(request) or uuid.uuid4().hex
    return tessera.ids.revision_id(caller(request).principal.name, f"{overlay_id}/{key}/{what}")


async def _append(tessera: Served, revision: OverlayRevision) -> JSONResponse | None:
    """None once durable, else the answer to give."""
    try:
        await tessera.journal.append([revision])
    except JournalClosedError:
        return error(503, "the server is shutting down; retry")
    except JournalUnavailableError:
        # Maybe stored, maybe not: the same request again is safe (ids de-duplicate).
        return error(503, "the journal did not confirm the write; send it again", retry=True)
    return None


def _audit(
    tessera: Served,
    sender: Caller,
    action: str,
    outcome: str,
    target: str,
    detail: dict[str, Any],
) -> None:
    tessera.audit.record(
        AuditEvent(
            at=tessera.clock(),
            principal=sender.principal.name,
            action=action,
            outcome=outcome,
            target=target,
            address=sender.address,
            detail=detail,
        )
    )
