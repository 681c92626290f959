"""NATO Vector Graphics (NVG 0.3, 1.4, 1.5, 2.0.x) files in: reports and overlays.

A ``point`` with a unit symbol becomes a ``Report``, named by its ``label``; every other
shape an ``Overlay`` (ellipses, arcs, arcbands and rectangles as approximating polygons
or lines, see ``nvg_geometry``), with its ``style``. Speeds are read in the unit of the
file's NVG version (knots up to 1.5, km/h in 2.0). Links, modifiers without a field and
a symbol-less point's motion go into the remarks; a track's status as Tessera exports it
into ``statuses``. Whatever else cannot be imported (an attribute, a child element, an
``ExtendedData`` field) is listed in ``skipped`` with its line, never dropped silently.
A file that is not well formed, or a shape whose coordinates or modifiers are wrong,
raises ``NvgError`` and nothing of the file is imported. Parsing reuses the hardened
CoT XML parser (no DTD, no entities, no network, size and depth limits). Given
``ImportLabels`` rather than a label, the file's own security markings label each item
or refuse the file (``tessera.codecs.import_labels``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final, NamedTuple

import msgspec
from lxml import etree

from tessera.codecs import nvg_geometry as geo
from tessera.codecs.cot_model import CotError
from tessera.codecs.cot_reports import safe_identifier
from tessera.codecs.cot_safe_xml import parse_document
from tessera.codecs.import_labels import FileLabels, ImportLabels, Labelled, rule_of
from tessera.codecs.marking_sources import nvg_markings
from tessera.codecs.markings import Marking
from tessera.codecs.nvg_attributes import (
    NVG_NAMESPACES,
    SPEED_UNITS_MS,
    NvgError,
    altitude,
    child_text,
    ellipse_params,
    extended_data,
    grading,
    length,
    lonlat,
    modifiers,
    number,
    nvg_version,
    observed_at,
    points,
    quantity,
    speed_ms,
    split,
    time_span,
    valid_until,
    velocity,
    where,
)
from tessera.codecs.nvg_details import (
    DOCUMENT_FIELDS,
    KEPT_MODIFIERS,
    display_name,
    group_leftovers,
    leftovers,
    links,
    modifier_notes,
    motion_note,
    report_leftovers,
    track_status,
    unknown_fields,
)
from tessera.codecs.nvg_symbols import CONTROL_MEASURES, NvgSymbol, symbol_of
from tessera.core.model import (
    Identity,
    Label,
    Position,
    Report,
    Source,
    SourceKind,
    TrackStatus,
    bounded_hold,
)
from tessera.core.overlays import Coordinate, Overlay, OverlayKind
from tessera.core.symbols import identity_of, symbol_set
from tessera.core.text import without_control_characters

__all__ = ["NVG_NAMESPACES", "NvgError", "NvgImport", "Skipped", "read_nvg"]

MAX_BYTES: Final = 32 * 1024 * 1024
MAX_DEPTH: Final = 64
MAX_ITEMS: Final = 100_000
MAX_NAME: Final = 256
MAX_REMARKS: Final = 4096
CONTAINERS: Final = frozenset({"a", "g", "composite"})


class Skipped(msgspec.Struct, frozen=True):
    element: str
    line: int | None
    reason: str


class NvgImport(msgspec.Struct):
    """``statuses``: the track status a report's point carried (Tessera's own export
    writes one per track), by report id."""

    reports: list[Report]
    overlays: list[Overlay]
    skipped: list[Skipped]
    labelled: Labelled | None = None
    statuses: dict[str, TrackStatus] = msgspec.field(default_factory=dict)


class _Context(NamedTuple):
    labels: FileLabels
    marking: Marking | None  # the marking in force: the document's and the groups' around
    author: str
    now: datetime
    new_id: Callable[[], str]
    used_ids: set[str]
    out: NvgImport
    speed_unit: float  # m/s per unit of ``speed`` in this file's NVG version
    links: tuple[str, ...] = ()  # the hrefs of the <a> elements around


def read_nvg(
    data: bytes,
    *,
    label: Label | ImportLabels,
    author: str,
    now: datetime,
    new_id: Callable[[], str],
) -> NvgImport:
    """The reports, overlays and skipped elements of one NVG document."""
    root = _parse(data)
    labels = rule_of(label).file(nvg_markings(root))
    out = NvgImport(reports=[], overlays=[], skipped=[])
    stamp = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    unit = SPEED_UNITS_MS[nvg_version(root)]
    ctx = _Context(labels, labels.document, author, stamp, new_id, set(), out, unit)
    for leftover in unknown_fields(root, DOCUMENT_FIELDS):
        _skip(ctx, leftover.element, leftover.reason)
    _walk(root, ctx)
    out.labelled = labels.finish()
    return out


def _parse(data: bytes) -> etree._Element:
    try:
        root = parse_document(data, max_bytes=MAX_BYTES, max_depth=MAX_DEPTH)
    except CotError as exc:
        raise NvgError(str(exc)) from None
    namespace, name = split(root)
    if name != "nvg" or (namespace is not None and namespace not in NVG_NAMESPACES):
        raise NvgError(f"document: root element {root.tag!s:.80} is not an NVG <nvg>")
    return root


def _walk(container: etree._Element, ctx: _Context) -> None:
    for child in container:
        tag: object = child.tag  # (lxml-stubs type it str; comments are not)
        if not isinstance(tag, str):
            continue
        namespace, name = split(child)
        if namespace is not None and namespace not in NVG_NAMESPACES:
            _skip(ctx, child, f"not an NVG element (namespace {namespace[:80]})")
        elif _is_document_data(child):
            continue  # the document's declarations and fields, read by read_nvg
        elif name in CONTAINERS:
            for leftover in group_leftovers(child):
                _skip(ctx, leftover.element, leftover.reason)
            href = (child.get("href") or "").strip() if name == "a" else ""
            links_ = (*ctx.links, href) if href else ctx.links
            # Groups and links: members one by one.
            _walk(child, _within(ctx, child)._replace(links=links_))
        elif name in _HANDLERS:
            _HANDLERS[name](child, _within(ctx, child))
            if len(ctx.out.reports) + len(ctx.out.overlays) > MAX_ITEMS:
                raise NvgError(f"document: more than {MAX_ITEMS} shapes")
        else:
            _within(ctx, child)  # not imported, but a marking on it still counts
            _skip(ctx, child, "not a shape Tessera imports")


def _is_document_data(el: etree._Element) -> bool:
    parent = el.getparent()
    top = parent is not None and parent.getparent() is None
    return top and split(el)[1] in ("Schema", "ExtendedData")


def _within(ctx: _Context, el: etree._Element) -> _Context:
    return ctx._replace(marking=ctx.labels.within(ctx.marking, nvg_markings(el)))


# --- shapes -------------------------------------------------------------------------


def _point(el: etree._Element, ctx: _Context) -> None:
    spot = lonlat(el, "x", "y")
    raw_symbol = el.get("symbol")
    symbol = symbol_of(raw_symbol) if raw_symbol else None
    if symbol is not None and not symbol.graphic:
        report = _report(el, ctx, spot, symbol)
        if report.valid_until is not None and report.valid_until <= report.observed_at:
            _skip(ctx, el, "its validity (TimeSpan end) ended before its time")
            return
        ctx.out.reports.append(report)
        return
    sidc = symbol.sidc if symbol else None
    motion = motion_note(el.get("course"), speed_ms(el, ctx.speed_unit))
    note = _remarks(symbol.note if symbol else None, motion) or None
    _add(ctx, el, OverlayKind.POINT, [spot], sidc=sidc, note=note)


def _multipoint(el: etree._Element, ctx: _Context) -> None:
    for index, spot in enumerate(points(el, minimum=1)):
        _add(ctx, el, OverlayKind.POINT, [spot], suffix=f".{index}")


def _text(el: etree._Element, ctx: _Context) -> None:
    _add(ctx, el, OverlayKind.POINT, [lonlat(el, "x", "y")], name=child_text(el, "content"))


def _polyline(el: etree._Element, ctx: _Context) -> None:
    _add(ctx, el, OverlayKind.LINE, points(el, minimum=2))


def _corridor(el: etree._Element, ctx: _Context) -> None:
    width = length(el, "width", limit=1_000_000.0)
    _add(ctx, el, OverlayKind.CORRIDOR, points(el, minimum=2), width=width)


def _orbit(el: etree._Element, ctx: _Context) -> None:
    width = length(el, "width", limit=1_000_000.0)
    note = "orbit drawn as a corridor between its two points"
    _add(ctx, el, OverlayKind.CORRIDOR, points(el, minimum=2), width=width, note=note)


def _polygon(el: etree._Element, ctx: _Context) -> None:
    ring = points(el, minimum=3)
    if ring[0] != ring[-1]:
        ring.append(ring[0])  # NVG rings may be open; Tessera's areas are closed
    _add(ctx, el, OverlayKind.AREA, ring)


def _circle(el: etree._Element, ctx: _Context) -> None:
    centre = lonlat(el, "cx", "cy")
    radius = length(el, "r", limit=10_000_000.0)
    _add(ctx, el, OverlayKind.CIRCLE, [centre], radius=radius)


def _ellipse(el: etree._Element, ctx: _Context) -> None:
    centre, rx, ry, rotation = ellipse_params(el)
    ring = geo.ellipse_ring(centre, rx, ry, rotation)
    _add(ctx, el, OverlayKind.AREA, ring, note="ellipse approximated as a polygon")


def _arc(el: etree._Element, ctx: _Context) -> None:
    centre, rx, ry, rotation = ellipse_params(el)
    start, end = number(el, "startangle"), number(el, "endangle")
    line = geo.arc_line(centre, rx, ry, rotation, start, end)
    _add(ctx, el, OverlayKind.LINE, line, note="arc approximated as a line")


def _arcband(el: etree._Element, ctx: _Context) -> None:
    centre = lonlat(el, "cx", "cy")
    inner = number(el, "minr", default=0.0)
    outer = length(el, "maxr", limit=10_000_000.0)
    if not 0.0 <= inner < outer:
        raise NvgError(f"{where(el)}: minr must be at least 0 and less than maxr")
    start, end = number(el, "startangle"), number(el, "endangle")
    ring = geo.arcband_ring(centre, inner, outer, start, end)
    _add(ctx, el, OverlayKind.AREA, ring, note="arcband approximated as a polygon")


def _rect(el: etree._Element, ctx: _Context) -> None:
    centre, half_width, half_height, rotation = ellipse_params(el)  # rx, ry: half sides
    ring = geo.rectangle_ring(centre, 2 * half_width, 2 * half_height, rotation)
    _add(ctx, el, OverlayKind.AREA, ring, note="rectangle drawn as a polygon")


def _rectangle(el: etree._Element, ctx: _Context) -> None:
    centre = lonlat(el, "cx", "cy")
    width = length(el, "width", limit=10_000_000.0)
    height = length(el, "height", limit=10_000_000.0)
    ring = geo.rectangle_ring(centre, width, height, number(el, "rotation", default=0.0))
    _add(ctx, el, OverlayKind.AREA, ring, note="rectangle drawn as a polygon")


_HANDLERS: Final[dict[str, Callable[[etree._Element, _Context], None]]] = {
    "point": _point,
    "multipoint": _multipoint,
    "text": _text,
    "polyline": _polyline,
    "arrow": _polyline,  # the arrow head and width are not kept
    "corridor": _corridor,
    "orbit": _orbit,
    "polygon": _polygon,
    "circle": _circle,
    "ellipse": _ellipse,
    "arc": _arc,
    "arcband": _arcband,
    "rect": _rect,  # NVG 2.0: half sides rx, ry
    "rectangle": _rectangle,
}


# --- building reports and overlays ----------------------------------------------------


def _report(
    el: etree._Element, ctx: _Context, spot: tuple[float, float], symbol: NvgSymbol
) -> Report:
    mods = modifiers(el)
    key = el.get("uri") or el.get("id") or el.get("label")
    subject = safe_identifier(f"nvg:{key}") if key else None
    source_id = subject or safe_identifier(f"nvg:{ctx.author or 'import'}")
    name = display_name(el.get("label")) or display_name(mods.get("T"))
    kept = {*KEPT_MODIFIERS, "T"} if display_name(mods.get("T")) == name else KEPT_MODIFIERS
    fields = extended_data(el)
    report_id = ctx.new_id()
    status = track_status(fields.get("status"))
    if status is not None:
        ctx.out.statuses[report_id] = status
    for leftover in report_leftovers(el, fields.get("status"), altitude(el)):
        _skip(ctx, leftover.element, leftover.reason)
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
        remarks=_remarks(
            child_text(el, "textInfo"),
            *modifier_notes(mods, kept),
            *links(el, ctx.links),
            f"sources: {sources}" if sources else None,
            symbol.note,
        ),
        name=name,
    )


def _add(
    ctx: _Context,
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
            _skip(ctx, leftover.element, leftover.reason)
    valid_from, valid_to = time_span(el)
    notes = (*modifier_notes(modifiers(el), ()), *links(el, ctx.links))
    overlay = Overlay(
        id=_overlay_id(el, ctx, suffix),
        name=title[:MAX_NAME],
        kind=kind,
        coordinates=coords,
        radius_m=radius,
        width_m=width,
        sidc=sidc if sidc and symbol_set(sidc) == CONTROL_MEASURES else None,
        remarks=_remarks(child_text(el, "textInfo"), note, *notes),
        valid_from=valid_from,
        valid_to=valid_to,
        label=ctx.labels.item(ctx.marking, where(el)),
        author=ctx.author,
        updated_at=ctx.now,
        style=_remarks(el.get("style")),
    )
    ctx.out.overlays.append(overlay)
    for child in el:
        if isinstance(child.tag, str) and split(child)[1] == "exclude":
            _skip(ctx, child, "areas excluded from a shape are not imported")


def _overlay_id(el: etree._Element, ctx: _Context, suffix: str) -> str:
    key = el.get("uri") or el.get("id")
    candidate = safe_identifier(f"nvg:{key}{suffix}") if key else None
    if candidate is None or candidate in ctx.used_ids:
        candidate = ctx.new_id()
    ctx.used_ids.add(candidate)
    return candidate


# --- helpers ---------------------------------------------------------------------------


def _skip(ctx: _Context, el: etree._Element, reason: str) -> None:
    line: object = el.sourceline  # (lxml-stubs type it oddly; it is an int or None)
    number_ = line if isinstance(line, int) else None
    ctx.out.skipped.append(Skipped(element=split(el)[1][:80], line=number_, reason=reason))


def _remarks(*parts: str | None) -> str:
    cleaned = (without_control_characters(part).strip() for part in parts if part)
    return "; ".join(part for part in cleaned if part)[:MAX_REMARKS]
