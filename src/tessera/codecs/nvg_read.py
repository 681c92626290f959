"""NATO Vector Graphics (NVG 0.3, 1.4, 1.5, 2.0.x) files in: reports and overlays.

A ``point`` with a unit symbol becomes a ``Report``, named by its ``label``; every other
shape an ``Overlay`` (ellipses, arcs, arcbands and rectangles as approximating polygons
or lines, see ``nvg_geometry``), with its ``style``. Speeds are read in the unit of the
file's NVG version (knots up to 1.5, km/h in 2.0). Links, modifiers without a field and
a symbol-less point's motion go into the remarks; a track's status as Tessera exports it
is the report's stated ``status``, and its ``TimeSpan`` end how long it holds. Whatever
else cannot be imported (an attribute, a child element, an ``ExtendedData`` field) is
listed in ``skipped`` with its line, never dropped silently. This module walks the file;
``nvg_shapes`` reads each shape and ``nvg_build`` makes the reports and overlays.
A file that is not well formed, or a shape whose coordinates or modifiers are wrong,
raises ``NvgError`` and nothing of the file is imported. Parsing reuses the hardened
CoT XML parser (no DTD, no entities, no network, size and depth limits). Given
``ImportLabels`` rather than a label, the file's own security markings label each item
or refuse the file (``tessera.codecs.import_labels``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from lxml import etree

from tessera.codecs.cot_model import CotError
from tessera.codecs.cot_safe_xml import parse_document
from tessera.codecs.import_labels import ImportLabels, rule_of
from tessera.codecs.marking_sources import nvg_markings
from tessera.codecs.nvg_attributes import (
    NVG_NAMESPACES,
    SPEED_UNITS_MS,
    NvgError,
    nvg_version,
    split,
)
from tessera.codecs.nvg_build import NvgImport, ReadContext, Skipped, skip, within
from tessera.codecs.nvg_details import DOCUMENT_FIELDS, group_leftovers, unknown_fields
from tessera.codecs.nvg_shapes import HANDLERS
from tessera.core.model import Label

__all__ = ["NVG_NAMESPACES", "NvgError", "NvgImport", "Skipped", "read_nvg"]

MAX_BYTES: Final = 32 * 1024 * 1024
MAX_DEPTH: Final = 64
MAX_ITEMS: Final = 100_000
CONTAINERS: Final = frozenset({"a", "g", "composite"})


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
    ctx = ReadContext(labels, labels.document, author, stamp, new_id, set(), out, unit)
    for leftover in unknown_fields(root, DOCUMENT_FIELDS):
        skip(ctx, leftover.element, leftover.reason)
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


def _walk(container: etree._Element, ctx: ReadContext) -> None:
    for child in container:
        tag: object = child.tag  # (lxml-stubs type it str; comments are not)
        if not isinstance(tag, str):
            continue
        namespace, name = split(child)
        if namespace is not None and namespace not in NVG_NAMESPACES:
            skip(ctx, child, f"not an NVG element (namespace {namespace[:80]})")
        elif _is_document_data(child):
            continue  # the document's declarations and fields, read by read_nvg
        elif name in CONTAINERS:
            for leftover in group_leftovers(child):
                skip(ctx, leftover.element, leftover.reason)
            href = (child.get("href") or "").strip() if name == "a" else ""
            links_ = (*ctx.links, href) if href else ctx.links
            # Groups and links: members one by one.
            _walk(child, within(ctx, child)._replace(links=links_))
        elif name in HANDLERS:
            HANDLERS[name](child, within(ctx, child))
            if len(ctx.out.reports) + len(ctx.out.overlays) > MAX_ITEMS:
                raise NvgError(f"document: more than {MAX_ITEMS} shapes")
        else:
            within(ctx, child)  # not imported, but a marking on it still counts
            skip(ctx, child, "not a shape Tessera imports")


def _is_document_data(el: etree._Element) -> bool:
    parent = el.getparent()
    top = parent is not None and parent.getparent() is None
    return top and split(el)[1] in ("Schema", "ExtendedData")
