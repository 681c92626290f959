"""Reading NVG attributes: numbers, coordinates, modifiers, times, with errors that say
which element, on which line, and what is wrong. Pure: no I/O."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Final

from lxml import etree

from tessera.core.model import UNGRADED, Grading, Velocity

KNOT_MS: Final = 1852.0 / 3600.0
KMH_MS: Final = 1000.0 / 3600.0
# What one unit of a point's ``speed`` is, in m/s, by NVG version: knots up to 1.5 (the
# 1.5 schema: "the speed the object is moving with, expressed in knots"), km/h in 2.0
# (the 2.0.2 schema's SpeedType: "Speed in kilometers per hour").
SPEED_UNITS_MS: Final = {"0.3": KNOT_MS, "1.4": KNOT_MS, "1.5": KNOT_MS, "2.0": KMH_MS}
MAX_SPEED_MS: Final = 10_000.0
NVG_NAMESPACES: Final = {
    "http://tide.act.nato.int/schemas/2008/10/nvg": "1.4",
    "http://tide.act.nato.int/schemas/2009/10/nvg": "1.5",
    "https://tide.act.nato.int/schemas/2012/10/nvg": "2.0",
}


class NvgError(ValueError):
    """An NVG file that cannot be imported; the message says what and where."""


def split(el: etree._Element) -> tuple[str | None, str]:
    qname = etree.QName(el)
    return qname.namespace, qname.localname


def where(el: etree._Element) -> str:
    return f"<{split(el)[1][:40]}> at line {el.sourceline}"


def nvg_version(root: etree._Element) -> str:
    """The document's NVG version: its namespace's, else its ``version`` attribute's
    (``2.0`` for any 2.0.x), else 0.3 (the version without a namespace)."""
    namespace = split(root)[0]
    if namespace is not None:
        return NVG_NAMESPACES[namespace]
    stated = ".".join((root.get("version") or "").strip().split(".")[:2])
    return stated if stated in SPEED_UNITS_MS else "0.3"


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


def speed_ms(el: etree._Element, unit_ms: float) -> float | None:
    """A point's ``speed`` in m/s (``unit_ms`` is its version's unit), if it has one."""
    raw = el.get("speed")
    if raw is None:
        return None
    value = finite(el, "speed", raw) * unit_ms
    if not 0.0 <= value <= MAX_SPEED_MS:
        raise NvgError(f"{where(el)}: speed {raw[:40]!r} is not 0 to {MAX_SPEED_MS:g} m/s")
    return value


def velocity(el: etree._Element, unit_ms: float) -> Velocity | None:
    """Course and speed, when the point has both (one alone is listed as skipped)."""
    course, speed = el.get("course"), speed_ms(el, unit_ms)
    if course is None or speed is None:
        return None
    return Velocity(course=finite(el, "course", course) % 360.0 % 360.0, speed=speed)


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
    """When the shape last changed: its ``TimeStamp`` (NVG 2.0), else the ``observed_at``
    field (Tessera's earlier exports), else ``now``."""
    raw = child_text(el, "TimeStamp") or extended_data(el).get("observed_at")
    return timestamp(el, raw, now) if raw else now


def timestamp(el: etree._Element, raw: str, now: datetime) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise NvgError(f"{where(el)}: time {raw[:40]!r} is not ISO 8601") from None
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return min(value, now)  # a clock running ahead never dates a report in the future


def time_span(el: etree._Element) -> tuple[datetime | None, datetime | None]:
    """An overlay's ``TimeSpan``: when it is shown, as its validity."""
    for child in el:
        if isinstance(child.tag, str) and split(child)[1] == "TimeSpan":
            begin, end = child_text(child, "begin"), child_text(child, "end")
            far = datetime.max.replace(tzinfo=UTC)  # a validity may end in the future
            return (
                timestamp(child, begin, far) if begin else None,
                timestamp(child, end, far) if end else None,
            )
    return None, None


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
