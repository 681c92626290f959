"""Local metric geometry: small offsets on a locally flat Earth.

Gating and updates work over a few kilometres at most, where an equirectangular projection
around the track errs by far less than any report's own error.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

METRES_PER_DEGREE_LAT: Final = 110_574.0
METRES_PER_DEGREE_LON_EQUATOR: Final = 111_320.0


def metres_per_degree_lon(lat: float) -> float:
    # Near the poles the factor goes to zero; keep it positive so divisions stay finite.
    return max(METRES_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(lat)), 1.0)


def offset_metres(lat0: float, lon0: float, lat: float, lon: float) -> tuple[float, float]:
    """East and north offsets in metres of (lat, lon) from (lat0, lon0)."""
    dlon = (lon - lon0 + 540.0) % 360.0 - 180.0
    return dlon * metres_per_degree_lon(lat0), (lat - lat0) * METRES_PER_DEGREE_LAT


def moved(lat: float, lon: float, east: float, north: float) -> tuple[float, float]:
    """The point ``east``/``north`` metres away, clamped to valid coordinates."""
    new_lat = min(max(lat + north / METRES_PER_DEGREE_LAT, -90.0), 90.0)
    new_lon = lon + east / metres_per_degree_lon(lat)
    if not -180.0 <= new_lon <= 180.0:
        new_lon = (new_lon + 540.0) % 360.0 - 180.0
    return new_lat, new_lon


def course_speed(east: float, north: float) -> tuple[float, float]:
    """Course in degrees true and speed from a velocity in metres per second."""
    speed = math.hypot(east, north)
    course = math.degrees(math.atan2(east, north)) % 360.0
    return (0.0 if course >= 360.0 else course), speed


def velocity_components(course: float, speed: float) -> tuple[float, float]:
    rad = math.radians(course)
    return speed * math.sin(rad), speed * math.cos(rad)


# -- the same, vectorised over arrays ------------------------------------------------------

EARTH_RADIUS_M: Final = 6_371_008.8


def metres_per_degree_lon_array(lat: FloatArray) -> FloatArray:
    return np.maximum(METRES_PER_DEGREE_LON_EQUATOR * np.cos(np.radians(lat)), 1.0)


def offsets_metres(
    lat0: FloatArray,
    lon0: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    per_degree_lon: FloatArray | None = None,
) -> FloatArray:
    """East/north offsets (n, 2) in metres of each (lat, lon) from each (lat0, lon0);
    ``per_degree_lon``: ``metres_per_degree_lon_array(lat0)``, if the caller has it."""
    if per_degree_lon is None:
        per_degree_lon = metres_per_degree_lon_array(lat0)
    dlon = (lon - lon0 + 540.0) % 360.0 - 180.0
    # Written into one array rather than stacked: these run on a few rows, many times.
    offsets = np.empty((*dlon.shape, 2))
    offsets[..., 0] = dlon * per_degree_lon
    offsets[..., 1] = (lat - lat0) * METRES_PER_DEGREE_LAT
    return offsets


def moved_arrays(
    lat: FloatArray,
    lon: FloatArray,
    east: FloatArray,
    north: FloatArray,
    per_degree_lon: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """The points ``east``/``north`` metres away (``per_degree_lon`` as for
    ``offsets_metres``)."""
    if per_degree_lon is None:
        per_degree_lon = metres_per_degree_lon_array(lat)
    new_lat = np.minimum(np.maximum(lat + north / METRES_PER_DEGREE_LAT, -90.0), 90.0)
    new_lon = lon + east / per_degree_lon
    inside = np.abs(new_lon) <= 180.0
    if inside.all():
        return new_lat, new_lon
    return new_lat, np.where(inside, new_lon, (new_lon + 540.0) % 360.0 - 180.0)


def earth_xyz(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Points on a sphere in metres (n, 3): chord distance is distance over the ground at
    the scales gating works at, anywhere on Earth, so one k-d tree serves the whole globe."""
    phi = np.radians(lat)
    lam = np.radians(lon)
    cos_phi = np.cos(phi)
    xyz = np.empty((*phi.shape, 3))
    xyz[..., 0] = cos_phi * np.cos(lam)
    xyz[..., 1] = cos_phi * np.sin(lam)
    xyz[..., 2] = np.sin(phi)
    xyz *= EARTH_RADIUS_M
    return xyz
