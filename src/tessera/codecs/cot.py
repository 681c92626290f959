"""Cursor-on-Target XML events <-> ``CotEvent``.

``parse_event`` takes one untrusted ``<event>`` document (an XML declaration before it is
fine) and returns a ``CotEvent`` or raises ``CotError`` naming what is wrong and where;
no other exception escapes. ``encode_event`` writes one compact ``<event>`` without a
declaration; characters XML cannot carry are written as U+FFFD, except in the uid and
``how``, which refuse them. Parsing is hardened (``tessera.codecs.cot_safe_xml``); the
detail rules are in ``tessera.codecs.cot_detail``. Pure: no I/O.
"""

from __future__ import annotations

from typing import Final

from lxml import etree

from tessera.codecs.cot_detail import detail_elements, read_detail
from tessera.codecs.cot_model import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_EVENT_BYTES,
    REPLACEMENT_CHARACTER,
    CotError,
    CotEvent,
    check_header,
    check_point,
    format_time,
    known_error_or_none,
    known_or_none,
    parse_number,
    parse_time,
    unknown_if_none,
    xml_safe_text,
)
from tessera.codecs.cot_safe_xml import parse_document

__all__ = ["CotError", "CotEvent", "encode_event", "parse_event"]

COT_VERSION: Final = "2.0"
_OPTIONAL_HEADER: Final = ("access", "qos", "opex")


def parse_event(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_EVENT_BYTES, max_depth: int = DEFAULT_MAX_DEPTH
) -> CotEvent:
    """One CoT event from untrusted bytes; ``CotError`` for anything that is not one."""
    try:
        root = parse_document(data, max_bytes=max_bytes, max_depth=max_depth)
        return _event_from_root(root, max_detail_chars=max_bytes)
    except CotError:
        raise
    except Exception as exc:  # the last line of defence: untrusted input gets CotError only
        raise CotError(f"event: unreadable ({type(exc).__name__})") from None


def encode_event(event: CotEvent) -> bytes:
    """One ``<event>`` as compact UTF-8 XML, without a declaration."""
    check_header(uid=event.uid, type_=event.type, how=event.how)
    check_point(event.lat, event.lon)
    root = etree.Element("event")
    _set(root, "version", COT_VERSION)
    for name in ("uid", "type", "how"):
        _set(root, name, getattr(event, name))
    for name in ("time", "start", "stale"):
        _set(root, name, format_time(getattr(event, name)))
    for name in _OPTIONAL_HEADER:
        value = getattr(event, name)
        if value is not None:
            _set(root, name, value)
    point = etree.SubElement(root, "point")
    for name in ("lat", "lon"):
        point.set(name, repr(float(getattr(event, name))))
    for name in ("hae", "ce", "le"):
        point.set(name, repr(float(unknown_if_none(getattr(event, name)))))
    typed, kept = detail_elements(event)
    if typed or kept:
        detail = etree.SubElement(root, "detail")
        detail.extend([*typed, *kept])
    return etree.tostring(root, encoding="utf-8", xml_declaration=False)


def _event_from_root(root: etree._Element, *, max_detail_chars: int) -> CotEvent:
    if root.tag != "event":
        raise CotError(f"document: the root element must be 'event', found {str(root.tag)[:40]!r}")
    uid, type_, how = (_required(root, name) for name in ("uid", "type", "how"))
    check_header(uid=uid, type_=type_, how=how)
    time, start, stale = (
        parse_time(_required(root, name), f"event: attribute {name!r}")
        for name in ("time", "start", "stale")
    )
    point = root.find("point")
    if point is None:
        raise CotError("event: element 'point' is required")
    lat, lon = (_number(point, name, required=True) for name in ("lat", "lon"))
    assert lat is not None and lon is not None
    check_point(lat, lon)
    hae, ce, le = (_number(point, name, required=False) for name in ("hae", "ce", "le"))
    detail = root.find("detail")
    parts = read_detail(detail if detail is not None else (), max_chars=max_detail_chars)
    return CotEvent(
        uid=uid,
        type=type_,
        how=how,
        time=time,
        start=start,
        stale=stale,
        lat=lat,
        lon=lon,
        hae=None if hae is None else known_or_none(hae),
        ce=None if ce is None else known_error_or_none(ce),
        le=None if le is None else known_error_or_none(le),
        access=root.get("access"),
        qos=root.get("qos"),
        opex=root.get("opex"),
        detail_xml=parts.detail_xml,
        **parts.fields,
    )


def _required(element: etree._Element, name: str) -> str:
    value = element.get(name)
    if value is None:
        raise CotError(f"{element.tag}: attribute {name!r} is required")
    return value


def _number(point: etree._Element, name: str, *, required: bool) -> float | None:
    raw = point.get(name)
    if raw is None:
        if required:
            raise CotError(f"point: attribute {name!r} is required")
        return None
    value = parse_number(raw)
    if value is None:
        raise CotError(f"point: attribute {name!r} is not a number")
    return value


def _set(element: etree._Element, name: str, value: str) -> None:
    # The header's identity (uid, type, how) is checked by check_header; other text
    # loses what XML cannot carry rather than failing the event.
    element.set(name, xml_safe_text(value, REPLACEMENT_CHARACTER))
