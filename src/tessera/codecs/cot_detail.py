"""CoT ``<detail>``: which elements become typed fields, and the canonical rest.

Each typed *slot* is one detail element (``contact``, ``__group``, ``track``,
``remarks``, ``__chat``, ``__milsym``, the parent ``link relation="p-p"``) whose
attributes or text are fields of ``CotEvent``. Reading a detail:

* the fields mirror the first element of each slot;
* that element is *consumed* (left out of ``detail_xml``) only if it is the slot's only
  element and the fields hold all of it; otherwise every element of the slot stays in
  ``detail_xml``, and on encoding that copy is written instead of the fields;
* ``takv``, ``precisionlocation`` and ``status``, which TAK protocol carries in typed
  fields of its own, stay in ``detail_xml`` but first, in that order, when TAK protocol
  can hold them, so that XML and protobuf give the same event;
* everything else stays in ``detail_xml`` in document order, canonically re-serialised.

Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Final, NamedTuple

from lxml import etree

from tessera.codecs.cot_model import (
    REPLACEMENT_CHARACTER,
    CotError,
    CotEvent,
    parse_number,
    xml_safe_text,
)
from tessera.codecs.cot_safe_xml import canonical_xml, parse_fragment


class Slot(NamedTuple):
    """A detail element read into typed fields: ``attributes`` maps XML attribute names
    to field names; ``text_field`` takes the element's text; ``fixed`` attributes select
    the element (and are written back); ``numeric`` fields hold finite floats."""

    tag: str
    attributes: tuple[tuple[str, str], ...] = ()
    text_field: str | None = None
    fixed: tuple[tuple[str, str], ...] = ()
    numeric: bool = False


CONTACT: Final = Slot("contact", (("callsign", "callsign"), ("endpoint", "endpoint")))
GROUP: Final = Slot("__group", (("name", "group_name"), ("role", "group_role")))
TRACK: Final = Slot("track", (("course", "course"), ("speed", "speed")), numeric=True)
REMARKS: Final = Slot("remarks", text_field="remarks")
CHAT: Final = Slot(
    "__chat", (("chatroom", "chat_room"), ("senderCallsign", "chat_sender"), ("id", "chat_id"))
)
MILSYM: Final = Slot("__milsym", (("id", "sidc"),))
PARENT_LINK: Final = Slot("link", (("uid", "link_uid"),), fixed=(("relation", "p-p"),))
SLOTS: Final = (CONTACT, GROUP, TRACK, REMARKS, CHAT, MILSYM, PARENT_LINK)
SLOT_FIELDS: Final = tuple(
    field
    for slot in SLOTS
    for field in (*(f for _a, f in slot.attributes), slot.text_field)
    if field
)
# Re-reading what Tessera wrote must not refuse what it once accepted: limits for that.
REREAD_MAX_DEPTH: Final = 255

# TAK protocol's own typed details, by the attributes each can hold.
PROTO_TYPED: Final = {
    "takv": ("device", "platform", "os", "version"),
    "precisionlocation": ("geopointsrc", "altsrc"),
    "status": ("battery",),
}
_UINT32_MAX: Final = 2**32 - 1


class DetailParts(NamedTuple):
    """A detail read: the typed fields (by ``CotEvent`` field name) and ``detail_xml``."""

    fields: dict[str, Any]
    detail_xml: str


def slot_of(element: etree._Element) -> Slot | None:
    for slot in SLOTS:
        if element.tag == slot.tag and all(element.get(k) == v for k, v in slot.fixed):
            return slot
    return None


def read_detail(children: Iterable[etree._Element], *, max_chars: int) -> DetailParts:
    """Split a detail's child elements into typed fields and canonical ``detail_xml``."""
    elements = [child for child in children if isinstance(child.tag, str)]
    by_slot: dict[Slot, list[etree._Element]] = {}
    for element in elements:
        slot = slot_of(element)
        if slot is not None:
            by_slot.setdefault(slot, []).append(element)
    fields: dict[str, Any] = {}
    consumed: set[int] = set()
    for slot, members in by_slot.items():
        fields.update(mirror(slot, members[0]))
        if len(members) == 1 and holds_all(slot, members[0]):
            consumed.add(id(members[0]))
    rest = [element for element in elements if id(element) not in consumed]
    detail_xml = "".join(canonical_xml(element) for element in _proto_typed_first(rest))
    if len(detail_xml) > max_chars:
        raise CotError(f"detail: more than {max_chars} characters once re-serialised")
    return DetailParts(fields, detail_xml)


def mirror(slot: Slot, element: etree._Element) -> dict[str, Any]:
    """The field values an element of ``slot`` gives (absent or unreadable: None)."""
    values: dict[str, Any] = {}
    for attribute, field in slot.attributes:
        raw = element.get(attribute)
        values[field] = _numeric(raw) if slot.numeric and raw is not None else raw
    if slot.text_field:
        values[slot.text_field] = element.text or ""
    return values


def holds_all(slot: Slot, element: etree._Element) -> bool:
    """Whether the slot's fields hold everything in ``element``, so writing the fields
    back gives an equal element."""
    if len(element) or (slot.text_field is None and (element.text or "").strip()):
        return False
    allowed = {a for a, _f in slot.attributes} | {a for a, _v in slot.fixed}
    if not set(element.attrib) <= allowed:
        return False
    if slot.numeric:
        return all(_numeric(str(value)) is not None for value in element.attrib.values())
    return True


def slot_element(slot: Slot, values: dict[str, Any]) -> etree._Element | None:
    """The element the slot's field values write, or None when they are all unset."""
    present = [(a, values[f]) for a, f in slot.attributes if _is_set(values.get(f))]
    text = values.get(slot.text_field) if slot.text_field else None
    if not present and text is None:
        return None
    element = etree.Element(slot.tag)
    for attribute, value in (*slot.fixed, *present):
        element.set(attribute, _attribute_text(value))
    if text is not None:
        element.text = _writable(str(text))
    return element


def typed_elements(values: dict[str, Any], kept: Sequence[etree._Element]) -> list[etree._Element]:
    """The slot elements to write for ``values``: none for a slot that ``kept``
    (``detail_xml``'s elements) already holds."""
    held = {slot_of(element) for element in kept}
    out = []
    for slot in SLOTS:
        if slot in held:
            continue
        element = slot_element(slot, values)
        if element is not None:
            out.append(element)
    return out


def detail_elements(event: CotEvent) -> tuple[list[etree._Element], list[etree._Element]]:
    """An event's detail as elements: those its typed fields write, then ``detail_xml``'s."""
    kept = (
        parse_fragment(
            event.detail_xml,
            max_bytes=4 * len(event.detail_xml),
            max_depth=REREAD_MAX_DEPTH,
            where="detail_xml",
        )
        if event.detail_xml
        else []
    )
    values = {field: getattr(event, field) for field in SLOT_FIELDS}
    return typed_elements(values, kept), kept


def proto_typed_values(element: etree._Element) -> dict[str, str] | None:
    """A takv/precisionlocation/status element's attributes if TAK protocol's typed field
    can hold them all (known attributes, non-empty, a battery that is a uint32)."""
    names = PROTO_TYPED.get(str(element.tag))
    if names is None or len(element) or (element.text or "").strip():
        return None
    values = {str(k): str(v) for k, v in element.attrib.items()}
    if not values or not set(values) <= set(names) or not all(values.values()):
        return None
    battery = values.get("battery")
    if battery is not None and not (
        battery.isascii()
        and battery.isdigit()
        and str(int(battery)) == battery
        and int(battery) <= _UINT32_MAX
    ):
        return None
    return values


def _proto_typed_first(elements: list[etree._Element]) -> list[etree._Element]:
    # Also in TAK protocol's attribute order: attribute order means nothing in XML, and
    # this way both codecs write the same detail_xml.
    first: list[etree._Element] = []
    chosen: set[int] = set()
    for tag, names in PROTO_TYPED.items():
        members = [element for element in elements if element.tag == tag]
        values = proto_typed_values(members[0]) if len(members) == 1 else None
        if values is not None:
            chosen.add(id(members[0]))
            ordered = etree.Element(tag)
            for name in names:
                if name in values:
                    ordered.set(name, values[name])
            first.append(ordered)
    return first + [element for element in elements if id(element) not in chosen]


def _is_set(value: object) -> bool:
    # A non-finite number is "unknown": it writes no attribute.
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def _numeric(raw: str) -> float | None:
    value = parse_number(raw)
    return value if value is not None and math.isfinite(value) else None


def _attribute_text(value: object) -> str:
    return _writable(repr(value) if isinstance(value, float) else str(value))


def _writable(text: str) -> str:
    # A callsign or remark XML cannot carry loses those characters, not the event.
    return xml_safe_text(text, REPLACEMENT_CHARACTER)
