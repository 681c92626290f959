"""Where a camera looks on the ground: the four corners of its field of view projected
from its position and attitude onto flat ground at the height it flies above it.

Angles in degrees: ``yaw`` clockwise from true north, ``pitch`` up from the horizon (a
camera looking straight down has -90), ``roll`` right side down. A corner ray at or above
the horizon (or meeting the ground beyond ``max_range_m``) is cut at ``max_range_m``, so
a camera looking at the horizon still draws a bounded shape."""

from __future__ import annotations

import math
from typing import Final

METRES_PER_DEGREE: Final = 111_320.0
# A ray must point at least this far below the horizon (as a sine) to meet the ground.
MIN_DOWN: Final = 1e-3


def euler_from_quaternion(w: float, x: float, y: float, z: float) -> tuple[float, float, float]:
    """(roll, pitch, yaw) in degrees from a unit quaternion (NED, as MAVLink sends it)."""
    roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x))))
    yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return math.degrees(roll), math.degrees(pitch), math.degrees(yaw) % 360.0


def ground_footprint(
    lat: float,
    lon: float,
    height_m: float,
    *,
    yaw: float,
    pitch: float,
    roll: float = 0.0,
    hfov: float,
    vfov: float,
    max_range_m: float = 20_000.0,
) -> tuple[tuple[float, float], ...] | None:
    """The four ground corners as (lon, lat), in order around the shape; None if the
    camera is not above the ground or the values cannot make a footprint."""
    values = (lat, lon, height_m, yaw, pitch, roll, hfov, vfov)
    if not all(math.isfinite(value) for value in values):
        return None
    if height_m <= 0 or not (0 < hfov < 180 and 0 < vfov < 180):
        return None
    y, p, r = math.radians(yaw), math.radians(pitch), math.radians(roll)
    # The camera's axes in east, north, up: forward, right and up.
    forward = (math.sin(y) * math.cos(p), math.cos(y) * math.cos(p), math.sin(p))
    right0 = (math.cos(y), -math.sin(y), 0.0)
    up0 = (-math.sin(y) * math.sin(p), -math.cos(y) * math.sin(p), math.cos(p))
    right = tuple(a * math.cos(r) - b * math.sin(r) for a, b in zip(right0, up0, strict=True))
    up = tuple(a * math.sin(r) + b * math.cos(r) for a, b in zip(right0, up0, strict=True))
    half_h = math.tan(math.radians(hfov) / 2)
    half_v = math.tan(math.radians(vfov) / 2)
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    corners = []
    for sx, sy in ((-1, 1), (1, 1), (1, -1), (-1, -1)):
        ray = [
            f + sx * half_h * rt + sy * half_v * u
            for f, rt, u in zip(forward, right, up, strict=True)
        ]
        horizontal = math.hypot(ray[0], ray[1])
        if horizontal == 0 and ray[2] >= 0:
            return None
        norm = math.sqrt(horizontal * horizontal + ray[2] * ray[2])
        if -ray[2] / norm < MIN_DOWN:
            distance = max_range_m
        else:
            distance = min(height_m * horizontal / -ray[2], max_range_m)
        east, north = (0.0, 0.0) if horizontal == 0 else (ray[0] / horizontal, ray[1] / horizontal)
        corner_lat = lat + distance * north / METRES_PER_DEGREE
        corner_lon = lon + distance * east / (METRES_PER_DEGREE * cos_lat)
        if not (-90 <= corner_lat <= 90):
            return None
        corners.append(((corner_lon + 180.0) % 360.0 - 180.0, corner_lat))
    return tuple(corners)
