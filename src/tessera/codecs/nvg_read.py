"""NATO Vector Graphics (NVG 0.3, 1.4, 1.5, 2.0.x) files in: reports and overlays.

A ``point`` with a unit symbol becomes a ``Report``; every other shape an ``Overlay``
(ellipses, arcs, arcbands and rectangles as approximating polygons or lines, see
``nvg_geometry``). Whatever cannot be imported is listed in ``skipped`` with its line.
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
    NvgError,
    altitude,
    child_text,
    ellipse_params,
    grading,
    length,
    lonlat,
    modifiers,
    number,
    observed_at,
    points,
    quantity,
    split,
    valid_until,
    velocity,
    where,
)
from tessera.core.cot_types import sidc_of_symbol_code
from tessera.core.model import (
    Identity,
    Label,
    Position,
    Report,
    Source,
    SourceKind,
    bounded_hold,
)
from tessera.core.overlays import Coordinate, Overlay, OverlayKind
from tessera.core.symbol_convert import sidc_of_letter_code
from tessera.core.symbols import identity_of, symbol_set
from tessera.core.text import without_control_characters

__all__ = ["NVG_NAMESPACES", "NvgError", "NvgImport", "Skipped", "read_nvg"]

NVG_NAMESPACES: Final = {
    "http://tide.act.nato.int/schemas/2008/10/nvg": "1.4",
    "http://tide.act.nato.int/schemas/2009/10/nvg": "1.5",
    "https://tide.act.nato.int/schemas/2012/10/nvg": "2.0",
}
MAX_BYTES: Final = 32 * 1024 * 1024
MAX_DEPTH: Final = 64
MAX_ITEMS: Final = 100_000
MAX_NAME: Final = 256
MAX_REMARKS: Final = 4096
CONTAINERS: Final = frozenset({"a", "g", "composite"})
APP6D_SCHEMES: Final = frozenset({"app6d", "2525d", "ms2525d", "app6e", "2525e", "ms2525e"})
LETTER_SCHEMES: Final = frozenset(
    {"app6a", "app6b", "app6c", "2525b", "2525c", "ms2525b", "ms2525c"}
)
CONTROL_MEASURES: Final = "25"  # APP-6(D) symbol set of control measures


class Skipped(msgspec.Struct, frozen=True):
    element: str
    line: int | None
    reason: str


class NvgImport(msgspec.Struct):
    reports: list[Report]
    overlays: list[Overlay]
    skipped: list[Skipped]
    labelled: Labelled | None = None


class _Context(NamedTuple):
    labels: FileLabels
    marking: Marking | None  # the marking in force: the document's and the groups' around
    author: str
    now: datetime
    new_id: Callable[[], str]
    used_ids: set[str]
    out: NvgImport


class _Symbol(NamedTuple):
    sidc: str | None
    graphic: bool  # a control measure or tactical graphic, not a unit: an overlay
    note: str | None


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
    _walk(root, _Context(labels, labels.document, author, stamp, new_id, set(), out))
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
        elif name in CONTAINERS:
            _walk(child, _within(ctx, child))  # groups and links: members one by one
        elif name in _HANDLERS:
            _HANDLERS[name](child, _within(ctx, child))
            if len(ctx.out.reports) + len(ctx.out.overlays) > MAX_ITEMS:
                raise NvgError(f"document: more than {MAX_ITEMS} shapes")
        else:
            _within(ctx, child)  # not imported, but a marking on it still counts
            _skip(ctx, child, "not a shape Tessera imports")


def _within(ctx: _Context, el: etree._Element) -> _Context:
    return ctx._replace(marking=ctx.labels.within(ctx.marking, nvg_markings(el)))


# --- shapes -------------------------------------------------------------------------


def _point(el: etree._Element, ctx: _Context) -> None:
    spot = lonlat(el, "x", "y")
    raw_symbol = el.get("symbol")
    symbol = _symbol(raw_symbol) if raw_symbol else None
    if symbol is not None and not symbol.graphic:
        report = _report(el, ctx, spot, symbol)
        if report.valid_until is not None and report.valid_until <= report.observed_at:
            _skip(ctx, el, "its validity (TimeSpan end) ended before its time")
            return
        ctx.out.reports.append(report)
        return
    sidc = symbol.sidc if symbol else None
    note = symbol.note if symbol else None
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
    "rectangle": _rectangle,
}


# --- building reports and overlays ----------------------------------------------------


def _report(
    el: etree._Element, ctx: _Context, spot: tuple[float, float], symbol: _Symbol
) -> Report:
    mods = modifiers(el)
    key = el.get("uri") or el.get("id") or el.get("label")
    subject = safe_identifier(f"nvg:{key}") if key else None
    source_id = subject or safe_identifier(f"nvg:{ctx.author or 'import'}")
    name = mods.get("T")
    observed = observed_at(el, ctx.now)
    until = valid_until(el)
    return Report(
        id=ctx.new_id(),
        source=Source(id=source_id, kind=SourceKind.SYSTEM),
        observed_at=observed,
        valid_until=None if until is None else bounded_hold(observed, until),
        position=Position(lat=spot[1], lon=spot[0], alt=altitude(el)),
        velocity=velocity(el),
        subject=subject,
        identity=identity_of(symbol.sidc) if symbol.sidc else Identity.UNKNOWN,
        sidc=symbol.sidc,
        quantity=quantity(el, mods.get("C")),
        grading=grading(el, mods.get("J")),
        label=ctx.labels.item(ctx.marking, where(el)),
        remarks=_remarks(
            el.get("label"), child_text(el, "textInfo"), f"T: {name}" if name else None, symbol.note
        ),
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
        symbol = _symbol(raw_symbol)  # a line or area's control-measure symbol
        sidc, note = symbol.sidc, "; ".join(filter(None, (note, symbol.note))) or None
    title = without_control_characters(name or el.get("label") or "").strip() or split(el)[1]
    overlay = Overlay(
        id=_overlay_id(el, ctx, suffix),
        name=title[:MAX_NAME],
        kind=kind,
        coordinates=coords,
        radius_m=radius,
        width_m=width,
        sidc=sidc if sidc and symbol_set(sidc) == CONTROL_MEASURES else None,
        remarks=_remarks(child_text(el, "textInfo"), note),
        label=ctx.labels.item(ctx.marking, where(el)),
        author=ctx.author,
        updated_at=ctx.now,
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


def _symbol(raw: str) -> _Symbol:
    scheme, _, code = raw.strip().partition(":")
    scheme, code = scheme.lower(), code.strip()
    if scheme in APP6D_SCHEMES:
        match = sidc_of_symbol_code(code)
        if match is None:
            return _Symbol(None, False, f"symbol {raw[:40]} is not a readable SIDC")
        return _Symbol(match.sidc, symbol_set(match.sidc) == CONTROL_MEASURES, match.reason)
    if scheme in LETTER_SCHEMES:
        letters = code.upper().replace("*", "-")
        if letters[:1] in ("G", "W"):  # tactical graphics and meteorology: not units
            return _graphic(letters, raw)
        if 10 <= len(letters) < 15:
            letters = letters.ljust(15, "-")  # some writers drop trailing dashes
        match = sidc_of_symbol_code(letters)
        if match is not None:
            return _Symbol(match.sidc, False, match.reason)
    return _Symbol(None, False, f"symbol {raw[:40]} not converted to APP-6(D)")


def _graphic(letters: str, raw: str) -> _Symbol:
    """A tactical graphic or METOC letter code: an overlay's symbol, converted by the
    crosswalk where it has a counterpart."""
    try:
        converted = sidc_of_letter_code(letters)
    except ValueError:
        return _Symbol(None, True, f"symbol {raw[:40]} not converted to APP-6(D)")
    note = None if converted.exact else f"symbol {raw[:40]}: {converted.reason}"
    return _Symbol(converted.code, True, note)


# --- helpers ---------------------------------------------------------------------------


def _skip(ctx: _Context, el: etree._Element, reason: str) -> None:
    line: object = el.sourceline  # (lxml-stubs type it oddly; it is an int or None)
    number_ = line if isinstance(line, int) else None
    ctx.out.skipped.append(Skipped(element=split(el)[1][:80], line=number_, reason=reason))


def _remarks(*parts: str | None) -> str:
    cleaned = (without_control_characters(part).strip() for part in parts if part)
    return "; ".join(part for part in cleaned if part)[:MAX_REMARKS]
