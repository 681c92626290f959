"""Pass warnings: which watched tracks a hostile imaging satellite will see soon.

The satellites' passes over the tracks are computed together (tessera.core.space) and kept
for a while: units move slowly against a satellite's footprint, so they are recomputed
only every ``REFRESH_S`` of judged time, when the satellites change, or when a track is
new or has moved more than ``MOVE_KM``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from tessera.core.model import Identity, Track
from tessera.core.space.catalog import Satellite
from tessera.core.space.passes import Sites
from tessera.core.space.predict import Pass, passes_over

REFRESH_S: Final = 300.0
MOVE_KM: Final = 5.0
# A pass's warning ends when the satellite sets (or this long after culmination if its
# set lies beyond what was computed).
_UNSET_S: Final = 600.0
THREATS: Final = frozenset({Identity.HOSTILE, Identity.SUSPECT})


def threatening(satellites: Sequence[Satellite]) -> list[Satellite]:
    """The imaging satellites a unit should hide from: hostile or suspect."""
    return [s for s in satellites if s.imaging and s.identity in THREATS]


def _moved_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[0] + b[0]) / 2)
    dy = (a[0] - b[0]) * 111.2
    dx = (a[1] - b[1]) * 111.2 * math.cos(lat)
    return math.hypot(dx, dy)


class OverheadWatch:
    def __init__(self) -> None:
        self.satellites: list[Satellite] = []
        self._key: tuple[tuple[str, int, datetime], ...] = ()
        self._passes: dict[str, list[Pass]] = {}
        self._where: dict[str, tuple[float, float]] = {}
        self._computed: tuple[datetime, datetime] | None = None

    def set_satellites(self, satellites: Sequence[Satellite]) -> bool:
        """Take the picture's satellites; whether what is watched changed."""
        chosen = threatening(satellites)
        key = tuple((s.source, s.norad_id, s.elements.epoch) for s in chosen)
        if key == self._key:
            return False
        self.satellites, self._key, self._computed = chosen, key, None
        return True

    def prepare(self, tracks: Sequence[Track], now: datetime, lead_s: float) -> None:
        """Passes over ``tracks`` covering ``now`` to ``lead_s`` ahead: recomputed (for
        every track seen) when stale, or when one of them is new or has moved."""
        if not self.satellites:
            return
        computed = self._computed
        stale = computed is None or not (
            computed[0] <= now and now + timedelta(seconds=lead_s) <= computed[1]
        )
        for track in tracks:
            where = (track.position.lat, track.position.lon)
            held = self._where.get(track.id)
            if held is None or _moved_km(held, where) > MOVE_KM:
                self._where[track.id] = where
                stale = True
        if stale:
            self._recompute(now, lead_s)

    def next_pass(self, track: Track, now: datetime, lead_s: float) -> Pass | None:
        """The first in-field pass over ``track`` (prepared) whose warning time
        (``lead_s`` before its rise, until it sets) holds ``now``."""
        for found in self._passes.get(track.id, []):
            begins = (found.rise or found.culmination) - timedelta(seconds=lead_s)
            ends = found.set or found.culmination + timedelta(seconds=_UNSET_S)
            if found.in_field and begins <= now < ends:
                return found
        return None

    def forget(self, track_id: str) -> None:
        self._where.pop(track_id, None)
        self._passes.pop(track_id, None)

    def _recompute(self, now: datetime, lead_s: float) -> None:
        ids = list(self._where)
        span = timedelta(seconds=lead_s + REFRESH_S)
        sites = Sites(
            [self._where[i][0] for i in ids], [self._where[i][1] for i in ids], [0.0] * len(ids)
        )
        found = passes_over(self.satellites, sites, now, span)
        self._passes = {i: [] for i in ids}
        for item in found:
            self._passes[ids[item.site]].append(item)
        self._computed = (now, now + span)


def warning_detail(found: Pass) -> str:
    def hhmmss(moment: datetime | None) -> str:
        return "?" if moment is None else moment.strftime("%H:%M:%SZ")

    return (
        f"{found.name} (NORAD {found.norad_id}) rises {hhmmss(found.rise)}, highest "
        f"{found.max_elevation:.0f}° at {hhmmss(found.culmination)}, sets {hhmmss(found.set)}; "
        f"in its sensor's field ({found.off_nadir:.0f}° off nadir)"
    )
