"""Routes: polylines that things move along, with positions as pure functions of distance."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from tessera.core.fusion.geo import METRES_PER_DEGREE_LAT, metres_per_degree_lon, offset_metres

Point = tuple[float, float]  # (lat, lon)


class Route:
    """A polyline travelled back and forth: a position for every distance along it."""

    def __init__(self, points: Sequence[Point]) -> None:
        if len(points) < 2:
            raise ValueError("a route needs at least two points")
        self.points = list(points)
        self._cumulative = [0.0]
        for (lat0, lon0), (lat1, lon1) in zip(self.points, self.points[1:], strict=False):
            east, north = offset_metres(lat0, lon0, lat1, lon1)
            self._cumulative.append(self._cumulative[-1] + math.hypot(east, north))
        self.length = self._cumulative[-1]

    def at(self, distance: float) -> tuple[float, float, float]:
        """(lat, lon, course) after ``distance`` metres, turning back at either end."""
        lap = distance % (2.0 * self.length)
        forward = lap <= self.length
        along = lap if forward else 2.0 * self.length - lap
        index = min(max(bisect.bisect_right(self._cumulative, along) - 1, 0), len(self.points) - 2)
        start, end = self.points[index], self.points[index + 1]
        span = self._cumulative[index + 1] - self._cumulative[index]
        share = 0.0 if span == 0 else (along - self._cumulative[index]) / span
        lat = start[0] + (end[0] - start[0]) * share
        lon = start[1] + (end[1] - start[1]) * share
        east, north = offset_metres(start[0], start[1], end[0], end[1])
        course = math.degrees(math.atan2(east, north)) % 360.0
        if not forward:
            course = (course + 180.0) % 360.0
        return lat, lon, course


def jitter(lat: float, lon: float, east_m: float, north_m: float) -> Point:
    """The point ``east_m``/``north_m`` metres away."""
    return lat + north_m / METRES_PER_DEGREE_LAT, lon + east_m / metres_per_degree_lon(lat)


# Roads of the exercise, approximated by polylines through real places (lat, lon).
DRAWSKO_CENTRE: Point = (53.53, 15.85)
BYDGOSZCZ_CENTRE: Point = (53.12, 18.00)
ROADS: dict[str, list[Point]] = {
    # Drawsko Pomorskie - Oleszno - Kalisz Pomorski, through the training area.
    "drawsko-kalisz": [(53.530, 15.810), (53.560, 15.880), (53.520, 15.960), (53.390, 15.910)],
    # Zlocieniec - Borne Sulinowo - Szczecinek.
    "zlocieniec-szczecinek": [
        (53.530, 16.010),
        (53.580, 16.150),
        (53.670, 16.300),
        (53.710, 16.690),
    ],
    # Walcz - Tuczno, south of the area.
    "walcz-tuczno": [(53.270, 16.470), (53.240, 16.300), (53.190, 16.150)],
    # The long approach: Szczecinek - Czluchow - Chojnice - Tuchola - Bydgoszcz.
    "szczecinek-bydgoszcz": [
        (53.710, 16.690),
        (53.660, 17.360),
        (53.700, 17.560),
        (53.580, 17.860),
        (53.300, 17.950),
        (53.123, 18.000),
    ],
    # Bydgoszcz - Torun.
    "bydgoszcz-torun": [(53.123, 18.000), (53.080, 18.250), (53.013, 18.600)],
    # Bydgoszcz - Naklo nad Notecia.
    "bydgoszcz-naklo": [(53.123, 18.000), (53.140, 17.800), (53.142, 17.600)],
}
