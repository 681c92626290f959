"""A file from another system (NVG, KML, KMZ or CoT) as what the journal takes: reports
and overlay revisions, with what was skipped and why. Pure: bytes in, items out.

A CoT file is one or more ``<event>`` documents, one after another (as TAK tools save
them): position events become reports from the unit they describe, anything else is
listed as skipped.

Ids make an import safe to repeat and unable to reach anybody else's overlays:

* Report ids and revision ids derive from the label and the file's bytes, so importing the
  same file again stores nothing twice (the server then scopes them to the importer, as
  every id a client names).
* Overlay ids are the file's own (an NVG ``uri``, say) with a scope the caller gives (the
  server's is derived from the importer and a secret), so a later version of the file
  updates the overlays it made, and never an overlay somebody else made under the same
  name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from typing import Final, Literal

import msgspec

from tessera.codecs.cot import parse_event
from tessera.codecs.cot_framing import XmlEventSplitter
from tessera.codecs.cot_model import CotError, CotEvent, as_utc
from tessera.codecs.cot_reports import event_to_report, safe_identifier
from tessera.codecs.kml_read import KmlError, read_kml
from tessera.codecs.nvg_attributes import NvgError
from tessera.codecs.nvg_read import read_nvg
from tessera.core.model import Label, Report, Source, SourceKind
from tessera.core.overlays import Overlay, OverlayRevision

ImportFormat = Literal["nvg", "kml", "kmz", "cot"]
FORMATS: Final[tuple[ImportFormat, ...]] = ("nvg", "kml", "kmz", "cot")
# The root element's name, after any declaration, comments and a namespace prefix.
_ROOT: Final = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(nvg|kml|event)[\s>/]")
MAX_EVENTS: Final = 100_000
MAX_FILE_BYTES: Final = 32 * 1024 * 1024
_SNIFF_BYTES: Final = 4096
_SCOPED_ID_CHARS: Final = 100


class ImportFileError(ValueError):
    """A file that cannot be imported at all; the message says what and where."""


class Skipped(msgspec.Struct, frozen=True):
    element: str
    line: int | None
    reason: str


class ImportBatch(msgspec.Struct, frozen=True):
    format: ImportFormat
    reports: list[Report]
    revisions: list[OverlayRevision]
    skipped: list[Skipped]


def sniff_format(data: bytes) -> ImportFormat:
    """What a file is, from its first bytes."""
    if data.startswith(b"PK"):
        return "kmz"
    found = _ROOT.search(data[:_SNIFF_BYTES])
    if found is None:
        raise ImportFileError(
            "document: neither NVG, KML nor CoT (no <nvg>, <kml> or <event> root element)"
        )
    return {b"nvg": "nvg", b"kml": "kml"}.get(found.group(1), "cot")  # type: ignore[return-value]


def read_import(
    data: bytes,
    *,
    file_format: ImportFormat | None,
    label: Label,
    principal: str,
    now: datetime,
    overlay_scope: Callable[[str], str],
    source: str | None = None,
) -> ImportBatch:
    """Every report and overlay in ``data``, labelled ``label``; raises ImportFileError for
    a file that cannot be read (then nothing of it is imported). ``overlay_scope`` gives
    the scope appended to a file's overlay id; with ``source``, every report is that
    source's (a system reporting what the file says) instead of the one the file names."""
    kind = file_format or sniff_format(data)
    digest = hashlib.sha256(b"\0".join((msgspec.json.encode(label), data))).hexdigest()[:20]
    counter = iter(range(1, 1 << 62))

    def new_id() -> str:
        return f"imp-{digest}-{next(counter)}"

    if kind == "cot":
        reports, cot_skipped = _read_cot(data, label=label, now=now, new_id=new_id)
        reports = _from_source(reports, source)
        return ImportBatch(format=kind, reports=reports, revisions=[], skipped=cot_skipped)
    try:
        if kind == "nvg":
            nvg = read_nvg(data, label=label, author=principal, now=now, new_id=new_id)
            reports, overlays = nvg.reports, nvg.overlays
            skipped = [Skipped(s.element, s.line, s.reason) for s in nvg.skipped]
        else:
            kml = read_kml(data, label=label, author=principal, now=now, new_id=new_id)
            reports, overlays = [], list(kml.overlays)
            skipped = [Skipped(s.element, s.line, s.reason) for s in kml.skipped]
    except (NvgError, KmlError) as exc:
        raise ImportFileError(str(exc)) from None
    revisions = [_revision(overlay, principal, digest, overlay_scope) for overlay in overlays]
    return ImportBatch(
        format=kind, reports=_from_source(reports, source), revisions=revisions, skipped=skipped
    )


def scoped_overlay_id(overlay_id: str, scope: str) -> str:
    """The file's id for an overlay, made the importer's own by ``scope``."""
    return f"{safe_identifier(overlay_id)[:_SCOPED_ID_CHARS]}.{scope}"


def _from_source(reports: list[Report], source: str | None) -> list[Report]:
    if source is None:
        return reports
    reporter = Source(id=source, kind=SourceKind.SYSTEM)
    return [msgspec.structs.replace(report, source=reporter) for report in reports]


def _revision(
    overlay: Overlay, principal: str, digest: str, overlay_scope: Callable[[str], str]
) -> OverlayRevision:
    scoped_id = scoped_overlay_id(overlay.id, overlay_scope(overlay.id))
    scoped = msgspec.structs.replace(overlay, id=scoped_id)
    return OverlayRevision(
        id=f"imp-{digest}-{scoped.id}"[:128], overlay_id=scoped.id, overlay=scoped, by=principal
    )


def _read_cot(
    data: bytes, *, label: Label, now: datetime, new_id: Callable[[], str]
) -> tuple[list[Report], list[Skipped]]:
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(f"document: larger than {MAX_FILE_BYTES} bytes")
    splitter = XmlEventSplitter()
    try:
        events = splitter.feed(data)
    except CotError as exc:
        raise ImportFileError(f"events: {exc}") from None
    if splitter.incomplete():
        raise ImportFileError(f"event {len(events) + 1}: truncated (no closing </event>)")
    if not events:
        raise ImportFileError("document: no <event> in the file")
    if len(events) > MAX_EVENTS:
        raise ImportFileError(f"document: more than {MAX_EVENTS} events")
    reports: list[Report] = []
    skipped: list[Skipped] = []
    offset = 0
    for number, raw in enumerate(events, start=1):
        start = data.find(raw, offset)
        offset = start + len(raw)
        line = data.count(b"\n", 0, start) + 1
        try:
            event = parse_event(raw)
        except CotError as exc:
            raise ImportFileError(f"event {number} (line {line}): {exc}") from None
        # A file is history: an event is judged as of its own time, never after now.
        moment = min(as_utc(event.time), as_utc(now))
        report = event_to_report(
            event, sender_uid=event.uid, new_id=new_id, now=moment, label=label
        )
        if report is None:
            skipped.append(Skipped("event", line, _not_a_report(event.type, event, moment)))
        else:
            reports.append(report)
    return reports, skipped


def _not_a_report(kind: str, event: CotEvent, moment: datetime) -> str:
    if not kind.startswith("a-"):
        return f"a {kind[:40]} event is not a position report"
    if event.lat == 0.0 and event.lon == 0.0:
        return "no position fix (0°, 0°)"
    if as_utc(event.stale) <= moment:
        return "stale when it was sent"
    return f"{kind[:40]} is not a CoT atom type Tessera reads"
