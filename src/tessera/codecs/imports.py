"""A file from another system (NVG, KML, KMZ or CoT) as what the journal takes: reports
and overlay revisions, with what was skipped and why. Pure: bytes in, items out.

A CoT file is one or more ``<event>`` documents, one after another (as TAK tools save
them): position events become reports from the unit they describe, anything else is
listed as skipped.

Labels: the label given, else the file's own security marking, else the sender's
default; a marking above the label given refuses the file, and an element's stricter
marking labels its item (``tessera.codecs.import_labels``).

Validity: how long each report holds (``valid_until``, which makes it a declaration that
fusion keeps until then): the importer's, when given, for every report; else the file's
own for each (an NVG ``TimeSpan`` end, a CoT event's ``stale``); else a default span from
the import. Each within ``MAX_HOLD`` of the report's own time.

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
from datetime import datetime, timedelta
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
from tessera.core.model import MAX_HOLD, Label, Report, Source, SourceKind, bounded_hold
from tessera.core.overlays import Overlay, OverlayRevision

ImportFormat = Literal["nvg", "kml", "kmz", "cot"]
FORMATS: Final[tuple[ImportFormat, ...]] = ("nvg", "kml", "kmz", "cot")
# The root element's name, after any declaration, comments and a namespace prefix.
_ROOT: Final = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(nvg|kml|event)[\s>/]")
MAX_EVENTS: Final = 100_000
MAX_FILE_BYTES: Final = 32 * 1024 * 1024
_SNIFF_BYTES: Final = 4096
_SCOPED_ID_CHARS: Final = 100
# How long an import's reports hold when neither the importer nor the file says.
DEFAULT_IMPORT_HOLD: Final = timedelta(hours=24)


class ImportFileError(ValueError):
    """A file that cannot be imported at all; the message says what and where."""


class ImportLabelRequiredError(ImportFileError):
    """Nothing gives something in the file a label: no label given, no marking of its own
    and no default label for the sender."""


class Skipped(msgspec.Struct, frozen=True):
    element: str
    line: int | None
    reason: str


class ImportValidity(msgspec.Struct, frozen=True, kw_only=True):
    """How long an import's reports hold: until ``valid_until``, or for ``valid_for`` from
    the import, when the importer says (at most one); else as the file says; else for
    ``default_for`` from the import."""

    valid_until: datetime | None = None
    valid_for: timedelta | None = None
    default_for: timedelta = DEFAULT_IMPORT_HOLD

    def given(self) -> bytes:
        """What the importer said, as it enters the import's ids (nothing: no change)."""
        if self.valid_until is not None:
            return f"valid_until={self.valid_until.isoformat()}".encode()
        if self.valid_for is not None:
            return f"valid_for={self.valid_for.total_seconds():g}".encode()
        return b""


class Held(msgspec.Struct, frozen=True):
    """How many reports hold until the importer's time, the file's, or the default."""

    given: int = 0
    file: int = 0
    default: int = 0


class ImportBatch(msgspec.Struct, frozen=True):
    format: ImportFormat
    reports: list[Report]
    revisions: list[OverlayRevision]
    skipped: list[Skipped]
    labelled: Labelled
    held: Held = Held()


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
    validity: ImportValidity | None = None,
) -> ImportBatch:
    """Every report and overlay in ``data``, labelled by ``label`` (a label given, or the
    whole rule) and the file's own markings; raises ImportFileError for a file that cannot
    be read or whose markings refuse it (then nothing of it is imported). ``overlay_scope``
    gives the scope appended to a file's overlay id; with ``source``, every report is that
    source's (a system reporting what the file says) instead of the one the file names.
    ``validity`` says how long its reports hold (default: ``ImportValidity()``)."""
    kind = file_format or sniff_format(data)
    validity = validity or ImportValidity()
    # The same file with another validity given says something else: other ids.
    said = [msgspec.json.encode(label), *filter(None, [validity.given()]), data]
    digest = hashlib.sha256(b"\0".join(said)).hexdigest()[:20]
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
            reports, overlays, labelled = list(kml.reports), list(kml.overlays), kml.labelled
            skipped = [Skipped(s.element, s.line, s.reason) for s in kml.skipped]
    except (NvgError, KmlError, MarkingError) as exc:
        raise ImportFileError(str(exc)) from None
    except LabelRequiredError as exc:
        raise ImportLabelRequiredError(str(exc)) from None
    assert labelled is not None  # (set by every reader given a rule)
    revisions = [_revision(overlay, principal, digest, overlay_scope) for overlay in overlays]
    held, counts = _held(_from_source(reports, source), validity, now)
    return ImportBatch(
        format=kind,
        reports=held,
        revisions=revisions,
        skipped=skipped,
        labelled=labelled,
        held=counts,
    )


def scoped_overlay_id(overlay_id: str, scope: str) -> str:
    """The file's id for an overlay, made the importer's own by ``scope``."""
    return f"{safe_identifier(overlay_id)[:_SCOPED_ID_CHARS]}.{scope}"


def _from_source(reports: list[Report], source: str | None) -> list[Report]:
    if source is None:
        return reports
    reporter = Source(id=source, kind=SourceKind.SYSTEM)
    return [msgspec.structs.replace(report, source=reporter) for report in reports]


def _held(
    reports: list[Report], validity: ImportValidity, now: datetime
) -> tuple[list[Report], Held]:
    if validity.valid_until is not None:
        given: datetime | None = validity.valid_until
    elif validity.valid_for is not None:
        given = now + validity.valid_for
    else:
        given = None
    held: list[Report] = []
    counts = {"given": 0, "file": 0, "default": 0}
    for report in reports:
        if given is not None:
            until, why = given, "given"
        elif report.valid_until is not None:
            until, why = report.valid_until, "file"
        else:
            until, why = now + validity.default_for, "default"
        # A report is never dated after ``now``: every one of these ends after its time.
        until = bounded_hold(report.observed_at, until)
        held.append(msgspec.structs.replace(report, valid_until=until))
        counts[why] += 1
    return held, Held(**counts)


def check_validity(validity: ImportValidity, now: datetime) -> str | None:
    """Why an importer's validity cannot be used, if so."""
    days = MAX_HOLD.days
    if validity.valid_until is not None and validity.valid_for is not None:
        return "valid_until, valid_for: give one of them, not both"
    if validity.valid_until is not None:
        if validity.valid_until <= now:
            return "valid_until: must be in the future"
        if validity.valid_until > now + MAX_HOLD:
            return f"valid_until: must be at most {days} days from now"
    if validity.valid_for is not None and not timedelta(0) < validity.valid_for <= MAX_HOLD:
        return f"valid_for: must be more than zero and at most {days} days"
    return None


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
