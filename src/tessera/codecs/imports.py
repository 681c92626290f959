"""A file from another system (NVG, KML, KMZ or CoT) as what the journal takes: reports
and overlay revisions, with what was skipped and why. Pure: bytes in, items out.

A CoT file is one or more ``<event>`` documents, one after another (as TAK tools save
them): position events become reports from the unit they describe, anything else is
listed as skipped.

Labels: the label given, else the file's own security marking, else the sender's
default; a marking above the label given refuses the file, and an element's stricter
marking labels its item (``tessera.codecs.import_labels``).

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
from tessera.codecs.cot_reports import event_to_report, is_position_report, safe_identifier
from tessera.codecs.import_labels import ImportLabels, Labelled, LabelRequiredError
from tessera.codecs.kml_read import KmlError, read_kml
from tessera.codecs.marking_sources import cot_markings
from tessera.codecs.markings import MarkingError
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


class ImportLabelRequiredError(ImportFileError):
    """Nothing gives something in the file a label: no label given, no marking of its own
    and no default label for the sender."""


class Skipped(msgspec.Struct, frozen=True):
    element: str
    line: int | None
    reason: str


class ImportBatch(msgspec.Struct, frozen=True):
    format: ImportFormat
    reports: list[Report]
    revisions: list[OverlayRevision]
    skipped: list[Skipped]
    labelled: Labelled


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
    label: Label | ImportLabels,
    principal: str,
    now: datetime,
    overlay_scope: Callable[[str], str],
    source: str | None = None,
) -> ImportBatch:
    """Every report and overlay in ``data``, labelled by ``label`` (a label given, or the
    whole rule) and the file's own markings; raises ImportFileError for a file that cannot
    be read or whose markings refuse it (then nothing of it is imported). ``overlay_scope``
    gives the scope appended to a file's overlay id; with ``source``, every report is that
    source's (a system reporting what the file says) instead of the one the file names."""
    kind = file_format or sniff_format(data)
    digest = hashlib.sha256(b"\0".join((msgspec.json.encode(label), data))).hexdigest()[:20]
    counter = iter(range(1, 1 << 62))

    def new_id() -> str:
        return f"imp-{digest}-{next(counter)}"

    # A file from elsewhere always has its markings read, whatever the label given.
    rule = label if isinstance(label, ImportLabels) else ImportLabels(given=label)
    overlays: list[Overlay] = []
    labelled: Labelled | None
    try:
        if kind == "cot":
            reports, skipped, labelled = _read_cot(data, rule=rule, now=now, new_id=new_id)
        elif kind == "nvg":
            nvg = read_nvg(data, label=rule, author=principal, now=now, new_id=new_id)
            reports, overlays, labelled = nvg.reports, nvg.overlays, nvg.labelled
            skipped = [Skipped(s.element, s.line, s.reason) for s in nvg.skipped]
        else:
            kml = read_kml(data, label=rule, author=principal, now=now, new_id=new_id)
            reports, overlays, labelled = [], list(kml.overlays), kml.labelled
            skipped = [Skipped(s.element, s.line, s.reason) for s in kml.skipped]
    except (NvgError, KmlError, MarkingError) as exc:
        raise ImportFileError(str(exc)) from None
    except LabelRequiredError as exc:
        raise ImportLabelRequiredError(str(exc)) from None
    assert labelled is not None  # (set by every reader given a rule)
    revisions = [_revision(overlay, principal, digest, overlay_scope) for overlay in overlays]
    return ImportBatch(
        format=kind,
        reports=_from_source(reports, source),
        revisions=revisions,
        skipped=skipped,
        labelled=labelled,
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
    data: bytes, *, rule: ImportLabels, now: datetime, new_id: Callable[[], str]
) -> tuple[list[Report], list[Skipped], Labelled]:
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
    labels = rule.file(())  # CoT has no document: each event carries its own marking
    reports: list[Report] = []
    skipped: list[Skipped] = []
    offset = 0
    for number, raw in enumerate(events, start=1):
        start = data.find(raw, offset)
        offset = start + len(raw)
        line = data.count(b"\n", 0, start) + 1
        where = f"event {number} (line {line})"
        try:
            event = parse_event(raw)
            found = cot_markings(raw, event.access, where)
        except CotError as exc:
            raise ImportFileError(f"{where}: {exc}") from None
        marking = labels.within(None, found)
        # A file is history: an event is judged as of its own time, never after now.
        moment = min(as_utc(event.time), as_utc(now))
        if not is_position_report(event, moment):
            skipped.append(Skipped("event", line, _not_a_report(event.type, event, moment)))
            continue
        label = labels.item(marking, where)
        report = event_to_report(
            event, sender_uid=event.uid, new_id=new_id, now=moment, label=label
        )
        assert report is not None  # (a position report, checked above)
        reports.append(report)
    return reports, skipped, labels.finish()


def _not_a_report(kind: str, event: CotEvent, moment: datetime) -> str:
    if not kind.startswith("a-"):
        return f"a {kind[:40]} event is not a position report"
    if event.lat == 0.0 and event.lon == 0.0:
        return "no position fix (0°, 0°)"
    if as_utc(event.stale) <= moment:
        return "stale when it was sent"
    return f"{kind[:40]} is not a CoT atom type Tessera reads"
