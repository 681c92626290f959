"""Motion classes: how things move and how long a silent track stays believable."""

from __future__ import annotations

import enum
from typing import Final

import msgspec
import numpy as np
import numpy.typing as npt

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
    """``max_speed`` (m/s) bounds the velocity estimate; ``accel`` (m/s^2) sets the process
    noise (spectral density accel^2 per second); ``coast_after``/``dead_after`` (s) age a
    track without fresh evidence; ``stale_after`` (s): past it, a silent track that was
    moving no longer claims where its object is now (one that was still, STILL_FACTOR times
    later); ``tentative_for`` (s): how long a track waits for the report that confirms it,
    long enough for a patrol's next spot report of the same thing; ``max_sd`` (m) is the
    position uncertainty past which a silent track no longer says where anything is."""

    max_speed: float
    accel: float
    coast_after: float
    dead_after: float
    max_sd: float
    stale_after: float
    tentative_for: float


PROFILES: Final[dict[MotionClass, MotionProfile]] = {
    MotionClass.STATIC: MotionProfile(0.5, 0.01, 3600, 6 * 3600, 1_000, 6 * 3600, 3600),
    MotionClass.FOOT: MotionProfile(3.0, 0.3, 300, 1200, 1_500, 600, 900),
    MotionClass.WHEELED: MotionProfile(35.0, 1.5, 120, 1800, 8_000, 120, 600),
    MotionClass.TRACKED: MotionProfile(20.0, 1.0, 120, 1800, 6_000, 120, 600),
    MotionClass.AIR: MotionProfile(300.0, 5.0, 20, 90, 15_000, 45, 60),
    MotionClass.SEA: MotionProfile(20.0, 0.2, 600, 3600, 5_000, 1200, 1200),
}
# A track last seen (nearly) still, below STILL_SPEED (m/s), stays believable this many
# times longer: a parked vehicle is mostly where it was.
STILL_SPEED: Final = 1.5
STILL_FACTOR: Final = 4.0
MOTION_CLASSES: Final = tuple(MotionClass)


class ProfileTable:
    """The profiles as arrays indexed by motion class code, for vectorised steps."""

    def __init__(self) -> None:
        profiles = [PROFILES[motion] for motion in MOTION_CLASSES]

        def column(name: str) -> npt.NDArray[np.float64]:
            return np.array([getattr(profile, name) for profile in profiles], dtype=np.float64)

        self.max_speed = column("max_speed")
        self.q = column("accel") ** 2
        self.coast_after = column("coast_after")
        self.dead_after = column("dead_after")
        self.max_sd = column("max_sd")
        self.stale_after = column("stale_after")
        self.tentative_for = column("tentative_for")


_BY_SYMBOL_SET: Final = {
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
_TRACKED_ENTITY_PREFIX: Final = "12"


def motion_class(sidc: str | None, source_kind: SourceKind) -> MotionClass:
    if sidc is None:
        return MotionClass.SEA if source_kind is SourceKind.AIS else MotionClass.WHEELED
    code = symbol_set(sidc)
    if code == "15" and sidc[10:12] == _TRACKED_ENTITY_PREFIX:
        return MotionClass.TRACKED
    return _BY_SYMBOL_SET.get(code, MotionClass.WHEELED)


def motion_code(motion: MotionClass) -> int:
    return MOTION_CLASSES.index(motion)
