"""What an NVG shape says besides its geometry, and what of it Tessera cannot keep.

Links (``href``, and the ``<a href>`` around a shape), modifiers other than those a
report maps to fields, a symbol-less point's course and speed: kept as remarks. Every
attribute, child element or ``ExtendedData`` field the reader does not use is named by
``leftovers`` so the import lists it as skipped instead of dropping it. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, NamedTuple

from lxml import etree

from tessera.codecs.nvg_attributes import split
from tessera.core.model import TrackStatus
from tessera.core.text import without_control_characters

# Attributes every shape may carry that the reader uses (or reads as a marking).
COMMON_ATTRIBUTES: Final = frozenset(
    {"uri", "id", "label", "symbol", "modifiers", "style", "href", "classification"}
)
# The geometry each shape's reader takes (a point's course and speed too).
SHAPE_ATTRIBUTES: Final = {
    "point": frozenset({"x", "y", "z", "course", "speed"}),
    "multipoint": frozenset({"points"}),
    "text": frozenset({"x", "y"}),
    "polyline": frozenset({"points"}),
    "arrow": frozenset({"points"}),
    "corridor": frozenset({"points", "width"}),
    "orbit": frozenset({"points", "width"}),
    "polygon": frozenset({"points"}),
    "circle": frozenset({"cx", "cy", "r"}),
    "ellipse": frozenset({"cx", "cy", "rx", "ry", "rotation"}),
    "arc": frozenset({"cx", "cy", "rx", "ry", "rotation", "startangle", "endangle"}),
    "arcband": frozenset({"cx", "cy", "minr", "maxr", "startangle", "endangle"}),
    "rect": frozenset({"cx", "cy", "rx", "ry", "rotation"}),
    "rectangle": frozenset({"cx", "cy", "width", "height", "rotation"}),
}
# Attributes whose value is the schema's default, which changes nothing when left out.
DEFAULTS: Final = {"leg-type": "great-circle", "rotation": "0"}
# Child elements the reader uses: markings, fields, text (``exclude`` is listed by the
# reader itself). A report keeps its ``TimeStamp`` (its time) and its ``TimeSpan``'s end
# (how long it holds), an overlay its ``TimeSpan`` (its validity); an overlay's time is
# when Tessera stores it.
KNOWN_CHILDREN: Final = frozenset(
    {"metadata", "extension", "ExtendedData", "textInfo", "content", "exclude"}
)
TIMES: Final = {True: "TimeStamp", False: "TimeSpan"}  # what a report, an overlay keeps
# The ExtendedData fields Tessera's own export writes and its reader takes back.
TRACK_FIELDS: Final = frozenset({"status", "observed_at", "sources", "parent"})
DOCUMENT_FIELDS: Final = frozenset({"picture", "generated_at"})
KEPT_MODIFIERS: Final = frozenset({"C", "J"})  # quantity and grading, on reports
MAX_NAME: Final = 256


class Leftover(NamedTuple):
    element: etree._Element
    reason: str


def display_name(raw: str | None) -> str | None:
    """A label or ``T`` modifier as a name: printable, trimmed, bounded; else None."""
    return without_control_characters(raw or "").strip()[:MAX_NAME] or None


def track_status(raw: str | None) -> TrackStatus | None:
    """The status Tessera's export writes for a track (``report_leftovers`` names one it
    cannot read)."""
    try:
        return TrackStatus(raw.strip().lower()) if raw is not None else None
    except ValueError:
        return None


def report_leftovers(
    el: etree._Element, status: str | None, kept_altitude: float | None
) -> list[Leftover]:
    """What a unit's point says that its report cannot keep."""
    found = leftovers(el, report=True, fields=TRACK_FIELDS)
    if el.get("style"):
        found.append(Leftover(el, "the style of a unit symbol is not kept"))
    if (el.get("course") is None) != (el.get("speed") is None):
        found.append(Leftover(el, "course or speed without the other not imported"))
    if el.get("z") is not None and kept_altitude is None:
        found.append(Leftover(el, "altitude 'z' out of range, not imported"))
    if status is not None and track_status(status) is None:
        found.append(Leftover(el, f"track status {status[:40]!r} unknown, not imported"))
    return found


def links(el: etree._Element, around: tuple[str, ...]) -> list[str]:
    """The shape's own ``href`` and those of the ``<a>`` elements around it."""
    own = el.get("href")
    return [f"link: {href}" for href in (*around, *([own] if own else [])) if href.strip()]


def modifier_notes(mods: dict[str, str], kept: Iterable[str]) -> list[str]:
    """The modifiers not mapped to a field, as remarks (``modifier W: 201200Z``)."""
    taken = set(kept)
    return [f"modifier {key}: {value}" for key, value in mods.items() if key not in taken]


def motion_note(course: str | None, speed_ms: float | None) -> str | None:
    """A symbol-less point's course and speed (an overlay has no velocity of its own)."""
    parts = [f"course {course.strip()}" if course else None]
    parts.append(f"speed {speed_ms:.2f} m/s" if speed_ms is not None else None)
    return ", ".join(part for part in parts if part) or None


def leftovers(el: etree._Element, *, report: bool, fields: frozenset[str]) -> list[Leftover]:
    """What the reader does not take from shape ``el``: attributes beyond its own and the
    common ones (or off their default), child elements it has no place for (an overlay's
    ``TimeStamp``, a ``report``'s ``TimeSpan``), ``ExtendedData`` fields not in
    ``fields``, and heights in ``points`` (Tessera's lines and areas are flat)."""
    name = split(el)[1]
    known = COMMON_ATTRIBUTES | SHAPE_ATTRIBUTES.get(name, frozenset())
    found = []
    for raw_name, raw_value in el.attrib.items():
        attribute, value = str(raw_name), str(raw_value)  # (lxml-stubs allow bytes)
        foreign = attribute.startswith("{")
        local = etree.QName(attribute).localname if foreign else attribute
        if foreign or local not in known:
            default = DEFAULTS.get(local)
            if not foreign and default is not None and _same(value, default):
                continue
            found.append(Leftover(el, f"attribute {local[:40]!r} not imported"))
    if any(token.count(",") == 2 for token in (el.get("points") or "").split()):
        found.append(Leftover(el, "altitudes in 'points' not imported"))
    for child in el:
        tag: object = child.tag
        if not isinstance(tag, str):
            continue
        child_name = split(child)[1]
        if child_name == TIMES[report] or (report and child_name == "TimeSpan"):
            continue
        if child_name not in KNOWN_CHILDREN:
            found.append(Leftover(child, f"<{child_name[:40]}> of a {name} not imported"))
    found += unknown_fields(el, fields)
    return found


def group_leftovers(el: etree._Element) -> list[Leftover]:
    """What a group (``g``, ``composite``, ``a``) says of itself that is not kept: its
    members are read one by one, with its marking and (``a``) its link."""
    kept = frozenset({"uri", "id", "classification", "href"})
    return [
        Leftover(el, f"attribute {etree.QName(str(name)).localname[:40]!r} of a group not imported")
        for name in el.attrib
        if str(name) not in kept
    ]


def unknown_fields(el: etree._Element, fields: frozenset[str]) -> list[Leftover]:
    """``ExtendedData`` fields of ``el`` the reader does not use."""
    found = []
    for child in el:
        if isinstance(child.tag, str) and split(child)[1].lower() == "extendeddata":
            unknown = sorted(set(extended_data_keys(child)) - fields)
            found += [Leftover(child, f"field {key[:40]!r} not imported") for key in unknown]
    return found


def extended_data_keys(data: etree._Element) -> list[str]:
    keys = []
    for item in data:
        if isinstance(item.tag, str):
            item_name = split(item)[1]
            keys.append(item.get("key") or "" if item_name == "SimpleData" else item_name)
    return keys


def _same(value: str, default: str) -> bool:
    try:
        return float(value) == float(default)
    except ValueError:
        return value.strip() == default
