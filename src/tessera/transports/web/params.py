"""Query parameters shared by the REST API and the stream: parsed strictly, with errors
that name the parameter."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from typing import Final, TypeVar

from tessera.core.model import Identity, TrackStatus
from tessera.store.base import TrackQuery

Choice = TypeVar("Choice", bound=enum.StrEnum)


class ParameterError(ValueError):
    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}")


def parse_bbox(name: str, values: Iterable[float] | str) -> tuple[float, float, float, float]:
    try:
        numbers = [
            float(part) for part in (values.split(",") if isinstance(values, str) else values)
        ]
    except (TypeError, ValueError):
        raise ParameterError(name, "must be four numbers: west,south,east,north") from None
    if len(numbers) != 4 or not all(math.isfinite(number) for number in numbers):
        raise ParameterError(name, "must be four numbers: west,south,east,north")
    west, south, east, north = numbers
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise ParameterError(name, "longitudes must be within -180..180")
    if not (-90 <= south <= north <= 90):
        raise ParameterError(name, "latitudes must be within -90..90 with south <= north")
    return west, south, east, north


def parse_choices(name: str, values: Iterable[str], kind: type[Choice]) -> frozenset[Choice]:
    """A set of enum members from their values, naming the parameter if one is unknown."""
    try:
        return frozenset(kind(value.strip()) for value in values if value.strip())
    except ValueError:
        known = ", ".join(member.value for member in kind)
        raise ParameterError(name, f"each must be one of {known}") from None


# What exports and OGC API items serve unless ``status`` asks otherwise: a dead track is no
# longer part of the picture, and a receiving system would draw it as current.
LIVE_STATUSES: Final = frozenset(TrackStatus) - {TrackStatus.DEAD}


def export_statuses(text: str | None) -> frozenset[TrackStatus]:
    """The track statuses an export or an OGC items request asked for with ``status``
    (comma-separated), else every status but dead."""
    if text is None:
        return LIVE_STATUSES
    statuses = parse_choices("status", text.split(","), TrackStatus)
    if not statuses:
        known = ", ".join(member.value for member in TrackStatus)
        raise ParameterError("status", f"give one or more of {known}, separated by commas")
    return statuses


def track_query(params: Mapping[str, str]) -> TrackQuery:
    """A TrackQuery from ``bbox``, ``identity`` and ``status`` query parameters."""
    bbox = params.get("bbox")
    identity = params.get("identity")
    status = params.get("status")
    return TrackQuery(
        bbox=None if bbox is None else parse_bbox("bbox", bbox),
        identities=None
        if identity is None
        else parse_choices("identity", identity.split(","), Identity),
        statuses=None
        if status is None
        else parse_choices("status", status.split(","), TrackStatus),
    )
