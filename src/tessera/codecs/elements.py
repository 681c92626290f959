"""Satellite element sets in: two-line element sets (TLE) and CCSDS OMM as XML, JSON and KVN.

Every format becomes the same :class:`ElementSet`; every problem is a :class:`FieldError`
naming the set (its index in the file) and the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

import msgspec
from lxml import etree

from tessera.codecs.cot_safe_xml import parse_document
from tessera.codecs.errors import JSON_DECODE_ERRORS, DecodeError, FieldError
from tessera.core.space.elements import ElementSet

_T = TypeVar("_T")
MAX_BYTES: Final = 64 * 1024 * 1024
_MAX_XML_DEPTH: Final = 16
# The OMM fields an SGP4 element set needs; the rest of the message is kept out.
_REQUIRED: Final = (
    "NORAD_CAT_ID",
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
)


def decode_element_sets(data: bytes) -> list[ElementSet]:
    """Element sets from a file of any of the four formats, told apart by their first bytes."""
    if len(data) > MAX_BYTES:
        raise DecodeError([FieldError(None, "$", f"is larger than {MAX_BYTES} bytes")])
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return _from_records(_xml_records(data))
    if head in (b"[", b"{"):
        return _from_records(_json_records(data))
    text = _text(data)
    if "CCSDS_OMM_VERS" in text:
        return _from_records(_kvn_records(text))
    return decode_tle(text)


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DecodeError([FieldError(None, "$", f"is not UTF-8 text ({exc.reason})")]) from exc


# --- TLE ------------------------------------------------------------------------------


def decode_tle(text: str) -> list[ElementSet]:
    """Two- or three-line element sets (the name line is optional and may start with ``0 ``)."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    sets: list[ElementSet] = []
    errors: list[FieldError] = []
    name = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("1 ") and i + 1 < len(lines) and lines[i + 1].startswith("2 "):
            index = len(sets) + len(errors)
            try:
                sets.append(_tle_set(name, line, lines[i + 1]))
            except ValueError as exc:
                errors.append(FieldError(index, "tle", str(exc)))
            name, i = "", i + 2
        elif line.startswith(("1 ", "2 ")):
            errors.append(FieldError(len(sets) + len(errors), "tle", f"line {i + 1} is unpaired"))
            name, i = "", i + 1
        else:
            name, i = line.removeprefix("0 ").strip(), i + 1
    if errors:
        raise DecodeError(errors)
    if not sets:
        raise DecodeError([FieldError(None, "$", "holds no element set (TLE or OMM)")])
    return sets


def _checksum(line: str) -> int:
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68]) % 10


def _implied_decimal(field: str) -> float:
    """A TLE's ``' 12345-3'`` (mantissa with an implied point, then a power of ten)."""
    field = field.strip()
    if not field:
        return 0.0
    sign = -1.0 if field[0] == "-" else 1.0
    field = field.lstrip("+-")
    mantissa, exponent = field[:-2], field[-2:]
    return sign * float("0." + mantissa.strip()) * 10.0 ** int(exponent)


def _tle_set(name: str, line1: str, line2: str) -> ElementSet:
    for number, line in ((1, line1), (2, line2)):
        if len(line) != 69:
            raise ValueError(f"line {number} has {len(line)} characters, not 69")
        if not line[68].isdigit() or _checksum(line) != int(line[68]):
            raise ValueError(f"line {number}'s checksum is wrong")
    if line1[2:7] != line2[2:7]:
        raise ValueError("the two lines name different satellites")
    try:
        year = int(line1[18:20])
        day = float(line1[20:32])
        epoch = datetime(year + (2000 if year < 57 else 1900), 1, 1, tzinfo=UTC) + timedelta(
            days=day - 1.0
        )
        launch = line1[9:17].strip()
        values = {
            "NORAD_CAT_ID": _norad_number(line1[2:7]),
            "MEAN_MOTION": float(line2[52:63]),
            "ECCENTRICITY": float("0." + line2[26:33].strip()),
            "INCLINATION": float(line2[8:16]),
            "RA_OF_ASC_NODE": float(line2[17:25]),
            "ARG_OF_PERICENTER": float(line2[34:42]),
            "MEAN_ANOMALY": float(line2[43:51]),
            "BSTAR": _implied_decimal(line1[53:61]),
            "MEAN_MOTION_DOT": float(line1[33:43]) * 2.0,
            "MEAN_MOTION_DDOT": _implied_decimal(line1[44:52]) * 6.0,
        }
    except ValueError as exc:
        raise ValueError(f"a number is malformed ({exc})") from None
    object_id = _designator(launch)
    return _checked(
        ElementSet(
            norad_id=int(values["NORAD_CAT_ID"]),
            name=name or f"NORAD {int(values['NORAD_CAT_ID'])}",
            object_id=object_id,
            epoch=epoch,
            mean_motion=values["MEAN_MOTION"],
            eccentricity=values["ECCENTRICITY"],
            inclination=values["INCLINATION"],
            ra_of_asc_node=values["RA_OF_ASC_NODE"],
            arg_of_pericenter=values["ARG_OF_PERICENTER"],
            mean_anomaly=values["MEAN_ANOMALY"],
            bstar=values["BSTAR"],
            mean_motion_dot=values["MEAN_MOTION_DOT"] / 2.0,
            mean_motion_ddot=values["MEAN_MOTION_DDOT"] / 6.0,
            tle=(line1, line2),
        )
    )


def _norad_number(field: str) -> int:
    """Catalogue numbers, including Alpha-5 (a letter for the first digit past 99,999)."""
    field = field.strip()
    if field and field[0].isalpha():
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # I and O are skipped
        return (10 + letters.index(field[0].upper())) * 10000 + int(field[1:])
    return int(field)


def _designator(launch: str) -> str:
    """``98067A`` -> ``1998-067A`` (the OMM's OBJECT_ID)."""
    if len(launch) < 5 or not launch[:5].isdigit():
        return launch
    year = int(launch[:2])
    return f"{year + (2000 if year < 57 else 1900)}-{launch[2:]}"


# --- OMM ------------------------------------------------------------------------------


def _xml_records(data: bytes) -> list[dict[str, str]]:
    try:
        root = parse_document(data, max_bytes=MAX_BYTES, max_depth=_MAX_XML_DEPTH)
    except ValueError as exc:
        raise DecodeError([FieldError(None, "$", f"is not well-formed XML ({exc})")]) from exc
    records: list[dict[str, str]] = []
    for segment in root.iter("{*}segment"):
        fields: dict[str, str] = {}
        for element in segment.iter():
            if isinstance(element.tag, str) and len(element) == 0 and element.text:
                fields[etree.QName(element).localname.upper()] = element.text.strip()
        records.append(fields)
    if not records:
        raise DecodeError([FieldError(None, "$", "is XML without an OMM segment")])
    return records


def _json_records(data: bytes) -> list[dict[str, str]]:
    try:
        decoded = msgspec.json.decode(data)
    except JSON_DECODE_ERRORS as exc:
        raise DecodeError([FieldError(None, "$", f"is not valid JSON ({exc})")]) from exc
    items = decoded if isinstance(decoded, list) else [decoded]
    records: list[dict[str, str]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise DecodeError([FieldError(index, "$", "is not an OMM object")])
        records.append({str(k).upper(): str(v) for k, v in item.items() if v is not None})
    return records


def _kvn_records(text: str) -> list[dict[str, str]]:
    records: list[dict[str, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("COMMENT") or line.endswith(("_START", "_STOP")):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise DecodeError([FieldError(len(records), f"line {number}", "is not KEY = value")])
        key = key.strip().upper()
        if key == "CCSDS_OMM_VERS" or not records:
            records.append({})
        records[-1][key] = value.split("[")[0].strip()
    return records


def _from_records(records: list[dict[str, str]]) -> list[ElementSet]:
    sets: list[ElementSet] = []
    errors: list[FieldError] = []
    for index, fields in enumerate(records):
        try:
            sets.append(_omm_set(fields))
        except _FieldError as problem:
            errors.append(FieldError(index, problem.field, problem.reason))
    if errors:
        raise DecodeError(errors)
    if not sets:
        raise DecodeError([FieldError(None, "$", "holds no element set (TLE or OMM)")])
    return sets


class _FieldError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _value(fields: Mapping[str, str], key: str, kind: Callable[[str], _T], default: _T) -> _T:
    raw = fields.get(key)
    if raw is None or raw == "":
        if key in _REQUIRED:
            raise _FieldError(key, "is missing")
        return default
    try:
        return kind(raw)
    except ValueError:
        raise _FieldError(key, f"is not a number: {raw[:40]!r}") from None


def _epoch(raw: str) -> datetime:
    text = raw.strip().removesuffix("Z")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _FieldError("EPOCH", f"is not an ISO 8601 time: {raw[:40]!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _omm_set(fields: Mapping[str, str]) -> ElementSet:
    if fields.get("MEAN_ELEMENT_THEORY", "SGP4").upper() not in ("SGP4", "SGP/SGP4"):
        raise _FieldError("MEAN_ELEMENT_THEORY", "is not SGP4")
    norad_id = _value(fields, "NORAD_CAT_ID", int, 0)
    epoch = _epoch(_value(fields, "EPOCH", str, ""))
    return _checked(
        ElementSet(
            norad_id=norad_id,
            name=fields.get("OBJECT_NAME", "") or f"NORAD {norad_id}",
            object_id=fields.get("OBJECT_ID", ""),
            epoch=epoch,
            mean_motion=_value(fields, "MEAN_MOTION", float, 0.0),
            eccentricity=_value(fields, "ECCENTRICITY", float, 0.0),
            inclination=_value(fields, "INCLINATION", float, 0.0),
            ra_of_asc_node=_value(fields, "RA_OF_ASC_NODE", float, 0.0),
            arg_of_pericenter=_value(fields, "ARG_OF_PERICENTER", float, 0.0),
            mean_anomaly=_value(fields, "MEAN_ANOMALY", float, 0.0),
            bstar=_value(fields, "BSTAR", float, 0.0),
            mean_motion_dot=_value(fields, "MEAN_MOTION_DOT", float, 0.0),
            mean_motion_ddot=_value(fields, "MEAN_MOTION_DDOT", float, 0.0),
        )
    )


def _checked(elements: ElementSet) -> ElementSet:
    checks = (
        ("NORAD_CAT_ID", 0 < elements.norad_id < 1_000_000_000, "is not a catalogue number"),
        ("MEAN_MOTION", 0.0 < elements.mean_motion < 20.0, "is not between 0 and 20 rev/day"),
        ("ECCENTRICITY", 0.0 <= elements.eccentricity < 1.0, "is not between 0 and 1"),
        ("INCLINATION", 0.0 <= elements.inclination <= 180.0, "is not between 0° and 180°"),
        ("BSTAR", math.isfinite(elements.bstar), "is not finite"),
    )
    for field, ok, reason in checks:
        if not ok:
            raise _FieldError(field, reason)
    return elements
