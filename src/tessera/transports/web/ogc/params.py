"""Query parameters of /ogc, parsed strictly: which ones each resource takes, and ``bbox``,
``datetime``, ``limit`` and ``offset`` of the items. Errors name the parameter.

OGC API - Features Part 1 requires a 400 for a parameter the API definition does not name
(/req/core/query-param-unknown) or for an invalid value; a typo such as ``bbx`` then fails
loudly instead of silently answering the whole collection.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final

import msgspec
from starlette.datastructures import QueryParams

from tessera.core.model import TrackStatus
from tessera.transports.web.params import (
    LIVE_STATUSES,
    ParameterError,
    export_statuses,
    parse_bbox,
)

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 10_000
FORMATS: Final = ("json",)
OPEN_END: Final = ".."
FORMAT_ONLY: Final = frozenset({"f"})
ITEMS_PARAMETERS: Final = frozenset({"f", "bbox", "datetime", "limit", "offset", "status"})

Instant = Annotated[datetime, msgspec.Meta(tz=True)]
BBox = tuple[float, float, float, float]
Range = tuple[float, float]


@dataclass(frozen=True)
class Period:
    """A closed time interval; ``None`` at an end leaves it open."""

    start: datetime | None
    end: datetime | None

    def overlaps(self, other: Period) -> bool:
        if self.end is not None and other.start is not None and self.end < other.start:
            return False
        return not (self.start is not None and other.end is not None and other.end < self.start)


@dataclass(frozen=True)
class ItemsQuery:
    """What ``/items`` was asked for. ``heights`` is the vertical part of a six-number
    ``bbox``; ``period`` the ``datetime`` parameter; ``statuses`` the tracks' (``status``,
    else every one but dead)."""

    bbox: BBox | None = None
    heights: Range | None = None
    period: Period | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    statuses: frozenset[TrackStatus] = LIVE_STATUSES


def check_parameters(params: QueryParams, allowed: Iterable[str]) -> None:
    """Refuse parameters the resource does not take, repeated ones, and any ``f`` but
    JSON (HTML is not served)."""
    names = frozenset(allowed)
    for name in params:
        if name not in names:
            takes = ", ".join(sorted(names))
            raise ParameterError(name, f"is not a parameter of this resource (it takes {takes})")
        if len(params.getlist(name)) > 1:
            raise ParameterError(name, "is given more than once")
    form = params.get("f")
    if form is not None and form not in FORMATS:
        raise ParameterError("f", f"must be one of {', '.join(FORMATS)}")


def items_query(params: QueryParams) -> ItemsQuery:
    check_parameters(params, ITEMS_PARAMETERS)
    bbox, heights = (None, None) if "bbox" not in params else parse_ogc_bbox(params["bbox"])
    period = None if "datetime" not in params else parse_datetime(params["datetime"])
    return ItemsQuery(
        bbox=bbox,
        heights=heights,
        period=period,
        limit=parse_limit(params.get("limit")),
        offset=parse_offset(params.get("offset")),
        statuses=export_statuses(params.get("status")),
    )


def parse_ogc_bbox(text: str) -> tuple[BBox, Range | None]:
    """Four numbers (CRS84), or six with the lowest and highest height in metres:
    ``west,south[,low],east,north[,high]``; west > east crosses the antimeridian."""
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise ParameterError(
            "bbox", "must be four numbers (west,south,east,north) or six (with heights)"
        )
    if len(parts) == 4:
        return parse_bbox("bbox", text), None
    try:
        west, south, low, east, north, high = (float(part) for part in parts)
    except ValueError:
        raise ParameterError("bbox", "must be numbers separated by commas") from None
    if not all(math.isfinite(number) for number in (low, high)):
        raise ParameterError("bbox", "heights must be finite numbers")
    if low > high:
        raise ParameterError("bbox", "the lowest height must not be above the highest")
    return parse_bbox("bbox", (west, south, east, north)), (low, high)


def parse_datetime(text: str) -> Period:
    """An RFC 3339 date-time, or an interval ``start/end`` whose open end is ``..`` or
    empty."""
    if "/" not in text:
        instant = _instant(text)
        return Period(instant, instant)
    start_text, _, end_text = text.partition("/")
    start = None if start_text in ("", OPEN_END) else _instant(start_text)
    end = None if end_text in ("", OPEN_END) else _instant(end_text)
    if start is not None and end is not None and end < start:
        raise ParameterError("datetime", "the interval ends before it starts")
    return Period(start, end)


def _instant(text: str) -> datetime:
    try:
        return msgspec.convert(text, Instant)
    except msgspec.ValidationError:
        raise ParameterError(
            "datetime",
            "must be an RFC 3339 date-time with its offset (2026-05-04T09:30:00Z) or an "
            "interval start/end with .. for an open end",
        ) from None


def parse_limit(text: str | None) -> int:
    """1 or more; above the maximum it is the maximum (the standard asks for no error)."""
    if text is None:
        return DEFAULT_LIMIT
    number = _integer("limit", text)
    if number < 1:
        raise ParameterError("limit", "must be at least 1")
    return min(number, MAX_LIMIT)


def parse_offset(text: str | None) -> int:
    if text is None:
        return 0
    number = _integer("offset", text)
    if number < 0:
        raise ParameterError("offset", "must be 0 or more")
    return number


def _integer(name: str, text: str) -> int:
    # int() also takes " 7", "+7" and "1_000"; only plain digits (and a minus) are meant.
    digits = text[1:] if text.startswith("-") else text
    if not digits.isascii() or not digits.isdigit() or len(digits) > 12:
        raise ParameterError(name, "must be an integer")
    return int(text)
