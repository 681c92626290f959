"""TAK protocol version 1 payloads (a protobuf ``TakMessage``) <-> ``CotEvent``.

Framing (stream ``0xbf`` + varint length, mesh ``bf 01 bf``) is
``tessera.codecs.cot_framing``'s business; these functions take and give the bare
payload. Times travel as milliseconds since the epoch; "unknown" hae/ce/le as 9999999.

The detail travels in TAK protocol's typed fields where they can hold it whole
(``contact``, ``group``, ``track``, ``precisionLocation``, ``status``, ``takv``) and in
``xmlDetail`` otherwise. Decoding rebuilds the detail's elements and reads them exactly
as the XML codec does, so an event read from XML and one read from protobuf are equal.
Pure: no I/O.
"""

from __future__ import annotations

from typing import Any, Final

from lxml import etree
from takproto.proto import TakMessage

from tessera.codecs.cot_detail import (
    CONTACT,
    GROUP,
    PROTO_TYPED,
    TRACK,
    detail_elements,
    proto_typed_values,
    read_detail,
    slot_of,
)
from tessera.codecs.cot_model import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_EVENT_BYTES,
    REPLACEMENT_CHARACTER,
    CotError,
    CotEvent,
    check_header,
    check_point,
    from_millis,
    known_error_or_none,
    known_or_none,
    to_millis,
    unknown_if_none,
    xml_safe_text,
)
from tessera.codecs.cot_safe_xml import canonical_xml, parse_fragment

# TAK protocol's typed detail messages: field name, XML tag and attributes, in the order
# decoding lays the elements out.
_TYPED_DETAIL: Final = (
    ("contact", "contact", ("callsign", "endpoint")),
    ("group", "__group", ("name", "role")),
    ("track", "track", ("course", "speed")),
    ("takv", "takv", PROTO_TYPED["takv"]),
    ("precisionLocation", "precisionlocation", PROTO_TYPED["precisionlocation"]),
    ("status", "status", PROTO_TYPED["status"]),
)
_FIELD_OF_TAG: Final = {tag: field for field, tag, _names in _TYPED_DETAIL}


def decode_payload(
    payload: bytes, *, max_bytes: int = DEFAULT_MAX_EVENT_BYTES, max_depth: int = DEFAULT_MAX_DEPTH
) -> CotEvent:
    """One ``CotEvent`` from an untrusted TakMessage payload; ``CotError`` otherwise."""
    if len(payload) > max_bytes:
        raise CotError(f"TAK protocol: payload larger than {max_bytes} bytes")
    try:
        message = TakMessage()
        message.ParseFromString(bytes(payload))
        if message is None or not message.HasField("cotEvent"):
            raise CotError("TAK protocol: the message holds no cotEvent")
        return _event_of(message.cotEvent, max_bytes=max_bytes, max_depth=max_depth)
    except CotError:
        raise
    except Exception as exc:  # protobuf's DecodeError and whatever else: never escapes
        raise CotError(f"TAK protocol: not a TakMessage ({type(exc).__name__})") from None


def encode_payload(event: CotEvent) -> bytes:
    """The TakMessage payload of one event."""
    check_header(uid=event.uid, type_=event.type, how=event.how)
    check_point(event.lat, event.lon)
    message = TakMessage()
    cot = message.cotEvent
    cot.type, cot.uid, cot.how = event.type, event.uid, event.how
    for name in ("access", "qos", "opex"):
        value = getattr(event, name)
        if value:
            setattr(cot, name, xml_safe_text(value, REPLACEMENT_CHARACTER))
    cot.sendTime = to_millis(event.time, "event: attribute 'time'")
    cot.startTime = to_millis(event.start, "event: attribute 'start'")
    cot.staleTime = to_millis(event.stale, "event: attribute 'stale'")
    cot.lat, cot.lon = float(event.lat), float(event.lon)
    cot.hae, cot.ce, cot.le = (unknown_if_none(v) for v in (event.hae, event.ce, event.le))
    typed, kept = detail_elements(event)
    if typed or kept:
        _fill_detail(cot.detail, typed, kept)
    return bytes(message.SerializeToString())


def _event_of(cot: Any, *, max_bytes: int, max_depth: int) -> CotEvent:
    check_header(uid=cot.uid, type_=cot.type, how=cot.how, where="cotEvent")
    check_point(cot.lat, cot.lon, where="cotEvent")
    children: list[etree._Element] = []
    if cot.HasField("detail"):
        children = _typed_detail_elements(cot.detail)
        if cot.detail.xmlDetail:
            children += parse_fragment(
                cot.detail.xmlDetail, max_bytes=max_bytes, max_depth=max_depth, where="xmlDetail"
            )
    parts = read_detail(children, max_chars=max_bytes)
    return CotEvent(
        uid=cot.uid,
        type=cot.type,
        how=cot.how,
        time=_time(cot.sendTime, "sendTime"),
        start=_time(cot.startTime, "startTime"),
        stale=_time(cot.staleTime, "staleTime"),
        lat=cot.lat,
        lon=cot.lon,
        hae=known_or_none(cot.hae),
        ce=known_error_or_none(cot.ce),
        le=known_error_or_none(cot.le),
        access=xml_safe_text(cot.access) or None,
        qos=xml_safe_text(cot.qos) or None,
        opex=xml_safe_text(cot.opex) or None,
        detail_xml=parts.detail_xml,
        **parts.fields,
    )


def _time(millis: int, name: str) -> Any:
    if not millis:
        raise CotError(f"cotEvent: field {name!r} is missing")
    return from_millis(millis, f"cotEvent: field {name!r}")


def _typed_detail_elements(detail: Any) -> list[etree._Element]:
    elements = []
    for field, tag, names in _TYPED_DETAIL:
        if not detail.HasField(field):
            continue
        typed = getattr(detail, field)
        element = etree.Element(tag)
        for name in names:
            value = getattr(typed, name)
            # A protobuf string may hold what XML cannot (a NUL-padded callsign): the
            # characters go, the event stays.
            text = repr(value) if isinstance(value, float) else xml_safe_text(str(value))
            # Numbers are always there; an empty string is protobuf's "absent".
            if isinstance(value, str) and not text:
                continue
            element.set(name, text)
        elements.append(element)
    return elements


def _fill_detail(detail: Any, typed: list[etree._Element], kept: list[etree._Element]) -> None:
    xml_parts: list[str] = []
    for element in typed:
        if not _set_typed(detail, element, _slot_values(element)):
            xml_parts.append(canonical_xml(element))
    for element in kept:
        tag = str(element.tag)
        alone = sum(1 for other in kept if other.tag == tag) == 1
        values = proto_typed_values(element) if alone else None
        if values is None or not _set_typed(detail, element, values):
            xml_parts.append(canonical_xml(element))
    if xml_parts:
        detail.xmlDetail = "".join(xml_parts)


def _slot_values(element: etree._Element) -> dict[str, str] | None:
    """A typed slot element's attributes when TAK protocol's field holds them all:
    strings non-empty (protobuf cannot tell empty from absent), track with both numbers."""
    slot = slot_of(element)
    values = {str(k): str(v) for k, v in element.attrib.items()}
    if slot in (CONTACT, GROUP) and values and all(values.values()):
        return values
    if slot is TRACK and set(values) == {"course", "speed"}:
        return values
    return None


def _set_typed(detail: Any, element: etree._Element, values: dict[str, str] | None) -> bool:
    field = _FIELD_OF_TAG.get(str(element.tag))
    if values is None or field is None or detail.HasField(field):
        return False
    typed = getattr(detail, field)
    typed.SetInParent()
    for name, value in values.items():
        setattr(typed, name, _proto_value(field, value))
    return True


def _proto_value(field: str, value: str) -> str | float | int:
    if field == "track":
        return float(value)
    if field == "status":
        return int(value)
    return value
