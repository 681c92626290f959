"""``POST /api/v1/imports``: an NVG, KML, KMZ or CoT file into the journal, all or nothing.

The file's points with unit symbols become reports, its other shapes overlays, every one
under the label the importer gives, else the file's own security marking, else the
importer's default label; an element marked stricter than its file keeps its own marking
(``tessera.codecs.import_labels``). Reports come from the sources the file names, or from
the ``source`` the importer gives; either way only from sources registered to the
importer. The answer says what was taken under which label and what was skipped and why;
a file that cannot be read, or whose marking is above the label given or releasable to
fewer communities, answers 422 naming what and where, and nothing of it is stored.
Importing the same file again stores nothing twice, and answers as the first time.
Its reports hold (fusion keeps them as declarations) until ``valid_until`` or for
``valid_for`` when given, else as the file says, else for ``import_valid_for_s``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from starlette.requests import Request

from tessera.codecs.import_labels import ImportLabels
from tessera.codecs.imports import (
    FORMATS,
    ImportBatch,
    ImportFileError,
    ImportLabelRequiredError,
    ImportValidity,
    check_validity,
    read_import,
)
from tessera.core.durations import parse_duration
from tessera.core.model import COMMUNITY_PATTERN, ID_PATTERN, Label
from tessera.journal.base import JournalClosedError, JournalItem, JournalUnavailableError
from tessera.security.base import AuditEvent
from tessera.security.policy import submission_refusal
from tessera.transports.web.api import BodyTooLargeError, caller, read_body
from tessera.transports.web.context import Served
from tessera.transports.web.responses import JSONResponse, error

MAX_FILE_BYTES: Final = 32 * 1024 * 1024
_COMMUNITY: Final = re.compile(COMMUNITY_PATTERN)
_IDENTIFIER: Final = re.compile(ID_PATTERN)
_LABEL_REQUIRED: Final = (
    "classification: is required (and releasable_to, if any): give the label for "
    "everything in the file, or set a default for the sender"
)


async def post_import(request: Request) -> JSONResponse:
    tessera: Served = request.app.state.tessera
    sender = caller(request)
    params = request.query_params
    file_format = params.get("format") or None
    if file_format is not None and file_format not in FORMATS:
        known = ", ".join(FORMATS)
        return error(400, f"format: must be one of {known} (or left out)", parameter="format")
    try:
        given = _label(params.get("classification"), params.get("releasable_to"))
    except ValueError as exc:
        return error(400, str(exc), parameter="releasable_to")
    default = sender.principal.default_label
    label = given or default
    if label is not None and label.classification not in tessera.scheme:
        levels = ", ".join(tessera.scheme.levels)
        return error(400, f"classification: must be one of {levels}", parameter="classification")
    if label is not None and (
        refusal := submission_refusal(sender.principal, label, tessera.scheme)
    ):
        return error(403, f"label: {refusal}", parameter="classification")
    source = params.get("source") or None
    if source is not None and not _IDENTIFIER.fullmatch(source):
        return error(400, "source: must be a source id", parameter="source")
    now = tessera.clock()
    try:
        validity = _validity(params.get("valid_until"), params.get("valid_for"), tessera)
    except ValueError as exc:
        name = str(exc).partition(":")[0]
        return error(400, str(exc), parameter=name)
    if problem := check_validity(validity, now):
        return error(400, problem, parameter=problem.partition(":")[0].partition(",")[0])
    try:
        data = await read_body(request, MAX_FILE_BYTES)
    except BodyTooLargeError:
        return error(413, f"the file is larger than {MAX_FILE_BYTES} bytes")
    if not data:
        return error(422, "the body is empty: send the file's bytes")
    name = sender.principal.name
    rule = ImportLabels(levels=tessera.scheme.levels, given=given, default=default)
    try:
        batch = read_import(
            data,
            file_format=file_format,
            label=rule,
            principal=name,
            now=now,
            overlay_scope=lambda file_id: tessera.ids.file_id(name, file_id),
            source=source,
            validity=validity,
        )
    except ImportLabelRequiredError as exc:
        return error(422, _LABEL_REQUIRED, parameter="classification", reason=str(exc))
    except ImportFileError as exc:
        _audit(tessera, request, "denied", {"reason": str(exc)[:200]})
        return JSONResponse({"error": "the file cannot be imported", "detail": str(exc)}, 422)
    if refusal := _marking_refusal(tessera, request, batch):
        return error(403, refusal, parameter="classification")
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
        "label": batch.labelled.label,
        "label_from": batch.labelled.source,
        "own_marking": batch.labelled.own_marking,
        "reports": len(batch.reports),
        "held": batch.held,
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


def _marking_refusal(tessera: Served, request: Request, batch: ImportBatch) -> str | None:
    """Why the importer may not submit a label the file's own markings chose, if so."""
    if batch.labelled.source == "given":
        return None  # checked before reading
    labels = {report.label for report in batch.reports}
    labels |= {rev.overlay.label for rev in batch.revisions if rev.overlay is not None}
    principal = caller(request).principal
    ranked = sorted(labels, key=lambda label: tessera.scheme.rank(label.classification))
    for label in reversed(ranked):
        if refusal := submission_refusal(principal, label, tessera.scheme):
            shown = ":".join((label.classification, ",".join(label.releasable_to))).rstrip(":")
            return f"label: the file's own marking labels it {shown}, {refusal}"
    return None


def _validity(until: str | None, span: str | None, tessera: Served) -> ImportValidity:
    default = timedelta(seconds=tessera.settings.import_valid_for_s)
    valid_until = valid_for = None
    if until:
        try:
            valid_until = datetime.fromisoformat(until.strip())
        except ValueError:
            raise ValueError("valid_until: must be an ISO 8601 time with its zone") from None
        if valid_until.tzinfo is None:
            raise ValueError("valid_until: must be an ISO 8601 time with its zone")
        valid_until = valid_until.astimezone(UTC)
    if span:
        try:
            valid_for = parse_duration(span)
        except ValueError as exc:
            raise ValueError(f"valid_for: must be {exc}") from None
    return ImportValidity(valid_until=valid_until, valid_for=valid_for, default_for=default)


def _label(classification: str | None, releasable_to: str | None) -> Label | None:
    if not classification:
        return None
    parts = {part.strip() for part in (releasable_to or "").split(",")} - {""}
    for community in parts:
        if not _COMMUNITY.match(community):
            raise ValueError(f"releasable_to: {community[:40]!r} is not a community name")
    return Label(classification.strip(), tuple(sorted(parts)))


def _audit(tessera: Served, request: Request, outcome: str, detail: dict[str, Any]) -> None:
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
