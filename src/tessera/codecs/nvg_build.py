"""Reports and overlays as an NVG file's elements make them (`nvg_read` walks the file,
`nvg_shapes` reads each shape's geometry): the context a reader carries through the file,
a unit's point as a report (its label as the name, its status as stated, its TimeSpan end
as its validity), any other shape as an overlay with its style, and what cannot be kept
listed in ``skipped`` with its line. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final, NamedTuple

import msgspec
from lxml import etree

from tessera.codecs.cot_reports import safe_identifier
from tessera.codecs.import_labels import FileLabels, Labelled
from tessera.codecs.marking_sources import nvg_markings
from tessera.codecs.markings import Marking
from tessera.codecs.nvg_attributes import (
    altitude,
    child_text,
    extended_data,
    grading,
    modifiers,
    observed_at,
    quantity,
    split,
    time_span,
    valid_until,
    velocity,
    where,
)
from tessera.codecs.nvg_details import (
    KEPT_MODIFIERS,
    display_name,
    leftovers,
    links,
    modifier_notes,
    report_leftovers,
    track_status,
)
from tessera.codecs.nvg_symbols import CONTROL_MEASURES, NvgSymbol, symbol_of
from tessera.core.model import (
    Identity,
    Position,
    Report,
    Source,
    SourceKind,
    bounded_hold,
)
from tessera.core.overlays import Coordinate, Overlay, OverlayKind
from tessera.core.symbols import identity_of, symbol_set
from tessera.core.text import without_control_characters

MAX_NAME: Final = 256
MAX_REMARKS: Final = 4096


class Skipped(msgspec.Struct, frozen=True):
    element: str
    line: int | None
    reason: str


class NvgImport(msgspec.Struct):
    reports: list[Report]
    overlays: list[Overlay]
    skipped: list[Skipped]
    labelled: Labelled | None = None


class ReadContext(NamedTuple):
    labels: FileLabels
    marking: Marking | None  # the marking in force: the document's and the groups' around
    author: str
    now: datetime
    new_id: Callable[[], str]
    used_ids: set[str]
    out: NvgImport
    speed_unit: float  # m/s per unit of ``speed`` in this file's NVG version
    links: tuple[str, ...] = ()  # the hrefs of the <a> elements around


def within(ctx: ReadContext, el: etree._Element) -> ReadContext:
    return ctx._replace(marking=ctx.labels.within(ctx.marking, nvg_markings(el)))


def report(
    el: etree._Element, ctx: ReadContext, spot: tuple[float, float], symbol: NvgSymbol
) -> Report:
    mods = modifiers(el)
    key = el.get("uri") or el.get("id") or el.get("label")
    subject = safe_identifier(f"nvg:{key}") if key else None
    source_id = subject or safe_identifier(f"nvg:{ctx.author or 'import'}")
    name = display_name(el.get("label")) or display_name(mods.get("T"))
    kept = {*KEPT_MODIFIERS, "T"} if display_name(mods.get("T")) == name else KEPT_MODIFIERS
    fields = extended_data(el)
    report_id = ctx.new_id()
    for leftover in report_leftovers(el, fields.get("status"), altitude(el)):
        skip(ctx, leftover.element, leftover.reason)
    sources = fields.get("sources")
    observed = observed_at(el, ctx.now)
    until = valid_until(el)
    return Report(
        id=report_id,
        source=Source(id=source_id, kind=SourceKind.SYSTEM),
        observed_at=observed,
        valid_until=None if until is None else bounded_hold(observed, until),
        position=Position(lat=spot[1], lon=spot[0], alt=altitude(el)),
        velocity=velocity(el, ctx.speed_unit),
        subject=subject,
        identity=identity_of(symbol.sidc) if symbol.sidc else Identity.UNKNOWN,
        sidc=symbol.sidc,
        quantity=quantity(el, mods.get("C")),
        grading=grading(el, mods.get("J")),
        label=ctx.labels.item(ctx.marking, where(el)),
        remarks=remarks(
            child_text(el, "textInfo"),
            *modifier_notes(mods, kept),
            *links(el, ctx.links),
            f"sources: {sources}" if sources else None,
            symbol.note,
        ),
        name=name,
        # The track status Tessera's export writes: stated, as the file says it.
        status=track_status(fields.get("status")),
        # Its formation, as Tessera's export names it: the uri of the formation's point.
        parent=None if not (up := fields.get("parent")) else safe_identifier(f"nvg:{up}"),
    )


def add(
    ctx: ReadContext,
    el: etree._Element,
    kind: OverlayKind,
    coordinates: list[tuple[float, float]],
    *,
    radius: float | None = None,
    width: float | None = None,
    sidc: str | None = None,
    note: str | None = None,
    name: str | None = None,
    suffix: str = "",
) -> None:
    coords: tuple[Coordinate, ...] = tuple(coordinates)
    raw_symbol = el.get("symbol")
    if sidc is None and raw_symbol:
        symbol = symbol_of(raw_symbol)  # a line or area's control-measure symbol
        sidc, note = symbol.sidc, "; ".join(filter(None, (note, symbol.note))) or None
    title = without_control_characters(name or el.get("label") or "").strip() or split(el)[1]
    if suffix in ("", ".0"):  # a multipoint's leftovers once, not for every point
        for leftover in leftovers(el, report=False, fields=frozenset()):
            skip(ctx, leftover.element, leftover.reason)
    valid_from, valid_to = time_span(el)
    notes = (*modifier_notes(modifiers(el), ()), *links(el, ctx.links))
    overlay = Overlay(
        id=overlay_id(el, ctx, suffix),
        name=title[:MAX_NAME],
        kind=kind,
        coordinates=coords,
        radius_m=radius,
        width_m=width,
        sidc=sidc if sidc and symbol_set(sidc) == CONTROL_MEASURES else None,
        remarks=remarks(child_text(el, "textInfo"), note, *notes),
        valid_from=valid_from,
        valid_to=valid_to,
        label=ctx.labels.item(ctx.marking, where(el)),
        author=ctx.author,
        updated_at=ctx.now,
        style=remarks(el.get("style")),
    )
    ctx.out.overlays.append(overlay)
    for child in el:
        if isinstance(child.tag, str) and split(child)[1] == "exclude":
            skip(ctx, child, "areas excluded from a shape are not imported")


def overlay_id(el: etree._Element, ctx: ReadContext, suffix: str) -> str:
    key = el.get("uri") or el.get("id")
    candidate = safe_identifier(f"nvg:{key}{suffix}") if key else None
    if candidate is None or candidate in ctx.used_ids:
        candidate = ctx.new_id()
    ctx.used_ids.add(candidate)
    return candidate


def skip(ctx: ReadContext, el: etree._Element, reason: str) -> None:
    line: object = el.sourceline  # (lxml-stubs type it oddly; it is an int or None)
    number_ = line if isinstance(line, int) else None
    ctx.out.skipped.append(Skipped(element=split(el)[1][:80], line=number_, reason=reason))


def remarks(*parts: str | None) -> str:
    cleaned = (without_control_characters(part).strip() for part in parts if part)
    return "; ".join(part for part in cleaned if part)[:MAX_REMARKS]
