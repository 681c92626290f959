"""Reading NVG attributes: numbers, coordinates, modifiers, times, with errors that say
which element, on which line, and what is wrong. Pure: no I/O."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Final

from lxml import etree

from tessera.core.model import UNGRADED, Grading, Velocity

KNOT_MS: Final = 1852.0 / 3600.0  # NVG speeds are in knots


class NvgError(ValueError):
    """An NVG file that cannot be imported; the message says what and where."""


def split(el: etree._Element) -> tuple[str | None, str]:
    qname = etree.QName(el)
    return qname.namespace, qname.localname


def where(el: etree._Element) -> str:
    return f"<{split(el)[1][:40]}> at line {el.sourceline}"


def number(el: etree._Element, attribute: str, *, default: float | None = None) -> float:
    raw = el.get(attribute)
    if raw is None:
        if default is not None:
            return default
        raise NvgError(f"{where(el)}: attribute {attribute!r} is missing")
    return finite(el, attribute, raw)


def finite(el: etree._Element, attribute: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise NvgError(f"{where(el)}: attribute {attribute!r} is not a number: {raw[:40]!r}")
    return value


def length(el: etree._Element, attribute: str, *, limit: float) -> float:
    value = number(el, attribute)
    if not 0.0 < value <= limit:
        raise NvgError(f"{where(el)}: attribute {attribute!r} must be in (0, {limit:g}] m")
    return value


def checked(el: etree._Element, attribute: str, lon: float, lat: float) -> tuple[float, float]:
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise NvgError(f"{where(el)}: {attribute} ({lon}, {lat}) is not a WGS 84 lon, lat")
    return (lon, lat)


def lonlat(el: etree._Element, x: str, y: str) -> tuple[float, float]:
    return checked(el, f"{x}/{y}", number(el, x), number(el, y))


def points(el: etree._Element, *, minimum: int) -> list[tuple[float, float]]:
    raw = el.get("points") or ""
    points = []
    for token in raw.split():
        parts = token.split(",")
        if len(parts) not in (2, 3):
            raise NvgError(f"{where(el)}: point {token[:40]!r} is not x,y or x,y,z")
        lon, lat = finite(el, "points", parts[0]), finite(el, "points", parts[1])
        points.append(checked(el, "points", lon, lat))
    if len(points) < minimum:
        raise NvgError(f"{where(el)}: needs at least {minimum} points, has {len(points)}")
    return points


def ellipse_params(el: etree._Element) -> tuple[tuple[float, float], float, float, float]:
    centre = lonlat(el, "cx", "cy")
    rx = length(el, "rx", limit=10_000_000.0)
    ry = length(el, "ry", limit=10_000_000.0)
    return centre, rx, ry, number(el, "rotation", default=0.0)


def modifiers(el: etree._Element) -> dict[str, str]:
    """NVG 2.0 ``modifiers``: ``key:value`` pairs separated by ``;``, as in ``style``."""
    found = {}
    for pair in (el.get("modifiers") or "").split(";"):
        key, sep, value = pair.partition(":")
        if sep and key.strip():
            found[key.strip()] = value.strip()
    return found


def grading(el: etree._Element, code: str | None) -> Grading:
    if not code:
        return UNGRADED
    try:
        return Grading.parse(code.upper())
    except ValueError as exc:
        raise NvgError(f"{where(el)}: modifier J {exc}") from None


def quantity(el: etree._Element, raw: str | None) -> int | None:
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) > 1_000_000:
        raise NvgError(f"{where(el)}: modifier C must be a count 0-1000000, got {raw[:20]!r}")
    return int(raw)


def altitude(el: etree._Element) -> float | None:
    raw = el.get("z")
    value = finite(el, "z", raw) if raw is not None else None
    return value if value is not None and -12_000.0 <= value <= 1_000_000.0 else None


def velocity(el: etree._Element) -> Velocity | None:
    course, speed = el.get("course"), el.get("speed")
    if course is None or speed is None:
        return None
    metres_per_second = finite(el, "speed", speed) * KNOT_MS
    if not 0.0 <= metres_per_second <= 10_000.0:
        return None
    return Velocity(course=finite(el, "course", course) % 360.0 % 360.0, speed=metres_per_second)


def extended_data(el: etree._Element) -> dict[str, str]:
    """``ExtendedData``/``SimpleData key=…`` pairs (either capitalisation)."""
    found: dict[str, str] = {}
    for child in el:
        if isinstance(child.tag, str) and split(child)[1].lower() == "extendeddata":
            for item in child:
                if isinstance(item.tag, str) and split(item)[1].lower() == "simpledata":
                    found[item.get("key") or ""] = (item.text or "").strip()
    return found


def observed_at(el: etree._Element, now: datetime) -> datetime:
    raw = extended_data(el).get("observed_at")
    if not raw:
        return now
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise NvgError(f"{where(el)}: observed_at {raw[:40]!r} is not ISO 8601") from None
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return min(value, now)  # a clock running ahead never dates a report in the future


def valid_until(el: etree._Element) -> datetime | None:
    """The end of the element's NVG 2.0 ``TimeSpan`` (its show period, as KML's): how long
    what it says holds. Its ``begin`` is not used."""
    for child in el:
        if isinstance(child.tag, str) and split(child)[1] == "TimeSpan":
            raw = child_text(child, "end")
            if not raw:
                return None
            try:
                value = datetime.fromisoformat(raw)
            except ValueError:
                raise NvgError(f"{where(el)}: TimeSpan end {raw[:40]!r} is not ISO 8601") from None
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def child_text(el: etree._Element, name: str) -> str | None:
    for child in el:
        if isinstance(child.tag, str) and split(child)[1] == name:
            return " ".join((child.text or "").split()) or None
    return None
