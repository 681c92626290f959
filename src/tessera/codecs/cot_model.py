"""The Cursor-on-Target event as Tessera holds it, shared by the XML and TAK protocol codecs.

A ``CotEvent`` is one CoT ``<event>``: its header, its ``<point>`` and the ``<detail>``
elements Tessera reads (contact, group, track, remarks, GeoChat, ``__milsym``, the parent
link), plus ``detail_xml``, the canonical XML of every other detail element so that
markers, shapes and chat are relayed without loss. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Final

import msgspec

# An event larger than this is refused before it is parsed; one nested deeper is refused
# after. Routes and shapes with hundreds of points stay well under both.
DEFAULT_MAX_EVENT_BYTES: Final = 512 * 1024
DEFAULT_MAX_DEPTH: Final = 32

# CoT writes "unknown" as 9999999 (some senders 999999); hae/ce/le with these values,
# NaN or infinity are held as None.
UNKNOWN_NUMBER: Final = 9999999.0
_UNKNOWN_SENTINELS: Final = frozenset({999999.0, 9999999.0})

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS: Final = timedelta(milliseconds=1)

_TIME: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?"
)
_NUMBER: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?i:nan|inf|infinity)")
_TYPE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
# Characters XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/F).
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
REPLACEMENT_CHARACTER: Final = "\ufffd"
MAX_UID_CHARS: Final = 1024
MAX_HOW_CHARS: Final = 64


class CotError(ValueError):
    """A CoT event, frame or stream that cannot be accepted; the message says what and
    where (``"event: attribute 'time' is not an ISO 8601 time"``)."""


class CotEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One CoT event. Times are aware UTC datetimes with millisecond precision (what TAK
    protocol carries); ``hae``/``ce``/``le`` are ``None`` when unknown.

    Typed detail fields mirror their elements. An element a typed field cannot represent
    on its own (a ``contact`` with a ``phone``, a chat's ``__chat`` with its ``chatgrp``)
    is also kept whole in ``detail_xml``, and that copy is what gets encoded.
    """

    uid: str
    type: str
    how: str
    time: datetime
    start: datetime
    stale: datetime
    lat: float
    lon: float
    hae: float | None = None
    ce: float | None = None
    le: float | None = None
    access: str | None = None
    qos: str | None = None
    opex: str | None = None
    # <contact callsign= endpoint=>
    callsign: str | None = None
    endpoint: str | None = None
    # <__group name= role=>
    group_name: str | None = None
    group_role: str | None = None
    # <track course= speed=>: degrees true and metres per second, as sent
    course: float | None = None
    speed: float | None = None
    # <remarks>text</remarks>; a GeoChat message's text
    remarks: str | None = None
    # <__chat chatroom= senderCallsign= id=> (GeoChat, type b-t-f)
    chat_room: str | None = None
    chat_sender: str | None = None
    chat_id: str | None = None
    # <__milsym id=>: the symbol code as sent (20- or 30-digit SIDC, or 15-letter 2525C)
    sidc: str | None = None
    # <link relation="p-p" uid=>: the parent (producer) of this event
    link_uid: str | None = None
    detail_xml: str = ""


def parse_time(text: str, where: str) -> datetime:
    """An ISO 8601 time as CoT writes it, truncated to milliseconds; no zone means UTC."""
    match = _TIME.fullmatch(text)
    if match is None:
        raise CotError(f"{where} is not an ISO 8601 time")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    millis = int((fraction or "0")[:3].ljust(3, "0"))
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            millis * 1000, tzinfo=UTC,
        )  # fmt: skip
        if zone and zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            value -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    except (ValueError, OverflowError):
        raise CotError(f"{where} is not a valid time") from None
    return value


def format_time(value: datetime) -> str:
    """CoT's time format: UTC, milliseconds, ``Z``."""
    utc = as_utc(value)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def cot_time(value: datetime) -> datetime:
    """A time as a CoT event holds it: UTC, whole milliseconds."""
    utc = as_utc(value)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def to_millis(value: datetime, where: str) -> int:
    """Milliseconds since the epoch, as TAK protocol carries times (never negative)."""
    millis = (as_utc(value) - _EPOCH) // _ONE_MS
    if millis < 0:
        raise CotError(f"{where} is before 1970 and cannot be sent in TAK protocol")
    return millis


def from_millis(millis: int, where: str) -> datetime:
    try:
        return _EPOCH + millis * _ONE_MS
    except OverflowError:
        raise CotError(f"{where} is not a representable time") from None


def parse_number(text: str) -> float | None:
    """A decimal number as XML carries it (``nan`` and ``inf`` included), else None."""
    stripped = text.strip()
    return float(stripped) if _NUMBER.fullmatch(stripped) else None


def known_or_none(value: float) -> float | None:
    """CoT's "unknown" (9999999, 999999, NaN, infinity) as None."""
    if not math.isfinite(value) or value in _UNKNOWN_SENTINELS:
        return None
    return value


def known_error_or_none(value: float) -> float | None:
    """An error estimate (ce, le): as ``known_or_none``; a million metres or more is as
    good as unknown."""
    known = known_or_none(value)
    return None if known is None or known >= min(_UNKNOWN_SENTINELS) else known


def unknown_if_none(value: float | None) -> float:
    """hae/ce/le as CoT writes them: 9999999 for unknown (None, NaN, infinity)."""
    return UNKNOWN_NUMBER if value is None or not math.isfinite(value) else float(value)


def xml_safe_text(value: str, replacement: str = "") -> str:
    """``value`` with the characters XML cannot carry dropped, or replaced."""
    return _NOT_XML.sub(replacement, value)


def xml_text_problem(value: str) -> str | None:
    """Why ``value`` cannot be carried in XML, or None."""
    if _NOT_XML.search(value):
        return "contains characters XML cannot carry"
    return None


def check_header(*, uid: str, type_: str, how: str, where: str = "event") -> None:
    """The event header's strings: a uid, a CoT type and a ``how`` XML can carry."""
    if not uid:
        raise CotError(f"{where}: attribute 'uid' is empty")
    if len(uid) > MAX_UID_CHARS:
        raise CotError(f"{where}: attribute 'uid' is longer than {MAX_UID_CHARS} characters")
    if not _TYPE.fullmatch(type_):
        raise CotError(
            f"{where}: attribute 'type' must be a CoT type such as 'a-f-G-U-C', got {type_[:40]!r}"
        )
    if len(how) > MAX_HOW_CHARS:
        raise CotError(f"{where}: attribute 'how' is longer than {MAX_HOW_CHARS} characters")
    for name, value in (("uid", uid), ("how", how)):
        problem = xml_text_problem(value)
        if problem:
            raise CotError(f"{where}: attribute {name!r} {problem}")


def check_point(lat: float, lon: float, where: str = "point") -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise CotError(f"{where}: attribute 'lat' must be a latitude between -90 and 90")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise CotError(f"{where}: attribute 'lon' must be a longitude between -180 and 180")
