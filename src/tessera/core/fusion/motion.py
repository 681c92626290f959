"""Motion classes: how fast things move and how long a silent track stays believable."""

from __future__ import annotations

import enum

import msgspec

from tessera.core.model import SourceKind
from tessera.core.symbols import symbol_set


class MotionClass(enum.StrEnum):
    STATIC = "static"
    FOOT = "foot"
    WHEELED = "wheeled"
    TRACKED = "tracked"
    AIR = "air"
    SEA = "sea"


class MotionProfile(msgspec.Struct, frozen=True):
    """``max_speed`` (m/s) bounds prediction; ``coast_after``/``dead_after`` (s) age a
    track without fresh evidence; ``accel`` (m/s^2) is the process noise of the model."""

    max_speed: float
    accel: float
    coast_after: float
    dead_after: float


PROFILES: dict[MotionClass, MotionProfile] = {
    MotionClass.STATIC: MotionProfile(
        max_speed=0.5, accel=0.01, coast_after=3600, dead_after=6 * 3600
    ),
    MotionClass.FOOT: MotionProfile(max_speed=3.0, accel=0.3, coast_after=300, dead_after=1200),
    MotionClass.WHEELED: MotionProfile(max_speed=35.0, accel=1.5, coast_after=120, dead_after=600),
    MotionClass.TRACKED: MotionProfile(max_speed=20.0, accel=1.0, coast_after=120, dead_after=600),
    MotionClass.AIR: MotionProfile(max_speed=300.0, accel=5.0, coast_after=20, dead_after=90),
    MotionClass.SEA: MotionProfile(max_speed=20.0, accel=0.2, coast_after=600, dead_after=3600),
}

_BY_SYMBOL_SET = {
    "01": MotionClass.AIR,
    "02": MotionClass.AIR,
    "05": MotionClass.AIR,
    "06": MotionClass.AIR,
    "51": MotionClass.AIR,
    "11": MotionClass.FOOT,
    "27": MotionClass.FOOT,
    "20": MotionClass.STATIC,
    "25": MotionClass.STATIC,
    "30": MotionClass.SEA,
    "35": MotionClass.SEA,
    "36": MotionClass.SEA,
}

# Land equipment entities 12xxxx are armoured (tracked) vehicles in APP-6(D) table D-II.
_TRACKED_ENTITY_PREFIX = "12"


def motion_class(sidc: str | None, source_kind: SourceKind) -> MotionClass:
    if sidc is None:
        return MotionClass.SEA if source_kind is SourceKind.AIS else MotionClass.WHEELED
    code = symbol_set(sidc)
    if code == "15" and sidc[10:12] == _TRACKED_ENTITY_PREFIX:
        return MotionClass.TRACKED
    return _BY_SYMBOL_SET.get(code, MotionClass.WHEELED)
