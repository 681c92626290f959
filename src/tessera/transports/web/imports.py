"""``POST /api/v1/imports``: an NVG, KML, KMZ or CoT file into the journal, all or nothing.

The file's points with unit symbols become reports, its other shapes overlays, every one
under the label the importer gives (or its default). Reports come from the sources the
file names, or from the ``source`` the importer gives; either way only from sources
registered to the importer. The answer says what was taken and
what was skipped and why; a file that cannot be read answers 422 naming what and where,
and nothing of it is stored. Importing the same file again stores nothing twice.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from starlette.requests import Request

from tessera.codecs.imports import FORMATS, ImportFileError, read_import
from tessera.core.model import COMMUNITY_PATTERN, ID_PATTERN, Label
from tessera.journal.base import JournalClosedError, JournalItem, JournalUnavailableError
from tessera.security.base import AuditEvent
from tessera.security.policy import submission_refusal
from tessera.transports.web.api import BodyTooLargeError, caller, read_body
from tessera.transports.web.responses import JSONResponse, error

if TYPE_CHECKING:
    from tessera.app import Tessera

MAX_FILE_BYTES: Final = 32 * 1024 * 1024
_COMMUNITY: Final = re.compile(COMMUNITY_PATTERN)
_IDENTIFIER: Final = re.compile(ID_PATTERN)


async def post_import(request: Request) -> JSONResponse:
    tessera: Tessera = request.app.state.tessera
    sender = caller(request)
    params = request.query_params
    file_format = params.get("format") or None
    if file_format is not None and file_format not in FORMATS:
        known = ", ".join(FORMATS)
        return error(400, f"format: must be one of {known} (or left out)", parameter="format")
    try:
        label = _label(params.get("classification"), params.get("releasable_to"))
    except ValueError as exc:
        return error(400, str(exc), parameter="releasable_to")
    label = label or sender.principal.default_label
    if label is None:
        return error(
            422,
            "classification: is required (and releasable_to, if any): give the label for "
            "everything in the file, or set a default for the sender",
            parameter="classification",
        )
    if label.classification not in tessera.scheme:
        levels = ", ".join(tessera.scheme.levels)
        return error(400, f"classification: must be one of {levels}", parameter="classification")
    if refusal := submission_refusal(sender.principal, label, tessera.scheme):
        return error(403, f"label: {refusal}", parameter="classification")
    source = params.get("source") or None
    if source is not None and not _IDENTIFIER.fullmatch(source):
        return error(400, "source: must be a source id", parameter="source")
    try:
        data = await read_body(request, MAX_FILE_BYTES)
    except BodyTooLargeError:
        return error(413, f"the file is larger than {MAX_FILE_BYTES} bytes")
    if not data:
        return error(422, "the body is empty: send the file's bytes")
    name = sender.principal.name
    try:
        batch = read_import(
            data,
            file_format=file_format,
            label=label,
            principal=name,
            now=tessera.clock(),
            overlay_scope=lambda file_id: tessera.ids.file_id(name, file_id),
            source=source,
        )
    except ImportFileError as exc:
        _audit(tessera, request, "denied", {"reason": str(exc)[:200]})
        return JSONResponse({"error": "the file cannot be imported", "detail": str(exc)}, 422)
    submitter = await tessera.submitter(sender.principal)
    refusals = [
        {"index": index, "field": refused.field, "reason": refused.reason}
        for index, report in enumerate(batch.reports)
        if (refused := submitter.refusal(report))
    ]
    if refusals:
        _audit(tessera, request, "denied", {"refused": len(refusals), "fields": ["source.id"]})
        hint = "give the import a source you may report as (source=ID)"
        return JSONResponse(
            {"error": f"sources you may not report as: {hint}", "errors": refusals}, 403
        )
    items: list[JournalItem] = [
        *(submitter.own(report) for report in batch.reports),
        *(submitter.own_revision(revision) for revision in batch.revisions),
    ]
    # Nothing here depends on what anybody else wrote: a repeat answers as the first did.
    summary: dict[str, Any] = {
        "format": batch.format,
        "reports": len(batch.reports),
        "overlays": len(batch.revisions),
        "skipped": batch.skipped,
    }
    if items:
        try:
            await tessera.journal.append(items)
        except JournalClosedError:
            return error(503, "the server is shutting down; retry")
        except JournalUnavailableError:
            # Maybe stored, maybe not: the same request again is safe (ids de-duplicate).
            return error(503, "the journal did not confirm the write; send it again", retry=True)
    detail = {k: summary[k] for k in ("format", "reports", "overlays")}
    _audit(tessera, request, "ok", {**detail, "skipped": len(batch.skipped)})
    return JSONResponse(summary, status_code=201 if items else 200)


def _label(classification: str | None, releasable_to: str | None) -> Label | None:
    if not classification:
        return None
    parts = {part.strip() for part in (releasable_to or "").split(",")} - {""}
    for community in parts:
        if not _COMMUNITY.match(community):
            raise ValueError(f"releasable_to: {community[:40]!r} is not a community name")
    return Label(classification.strip(), tuple(sorted(parts)))


def _audit(tessera: Tessera, request: Request, outcome: str, detail: dict[str, Any]) -> None:
    sender = caller(request)
    tessera.audit.record(
        AuditEvent(
            at=tessera.clock(),
            principal=sender.principal.name,
            action="import",
            outcome=outcome,
            address=sender.address,
            detail=detail,
        )
    )
