"""Earth frames for SGP4 output: TEME to Earth-fixed by GMST (IAU 1982), WGS-84 sites.

Times are float seconds since 1970-01-01 UTC; UT1 is taken as UTC (under a second apart,
metres on the ground for a satellite).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from sgp4.api import SatrecArray

FloatArray = npt.NDArray[np.float64]

WGS84_A_KM: Final = 6378.137
WGS84_F: Final = 1.0 / 298.257223563
_E2: Final = WGS84_F * (2.0 - WGS84_F)
EARTH_ROTATION_RAD_S: Final = 7.292115146706979e-5
_UNIX_JD: Final = 2440587.5
_DAY: Final = 86400.0


def split_julian(times: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Whole and fractional Julian dates (UTC) of Unix times, as SGP4 wants them."""
    days = np.floor(times / _DAY)
    return _UNIX_JD + days, (times - days * _DAY) / _DAY


def gmst_1982(times: FloatArray) -> FloatArray:
    """Greenwich mean sidereal angle in radians (the rotation SGP4's TEME frame expects)."""
    whole, fraction = split_julian(times)
    centuries = ((whole - 2451545.0) + fraction) / 36525.0
    seconds = (
        67310.54841
        + (876600.0 * 3600.0 + 8640184.812866) * centuries
        + (0.093104 + -6.2e-6 * centuries) * centuries * centuries
    )
    angle: FloatArray = np.mod(seconds, _DAY) / _DAY * 2.0 * np.pi
    return angle


def propagate_ecef(satellites: SatrecArray, times: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Earth-fixed positions (km) and velocities (km/s) of every satellite at every time,
    shaped (3, satellites, times); NaN where SGP4 fails (decayed, bad elements)."""
    whole, fraction = split_julian(times)
    errors, r, v = satellites.sgp4(whole, fraction)
    r[errors != 0] = np.nan
    v[errors != 0] = np.nan
    theta = gmst_1982(times)
    cos, sin = np.cos(theta), np.sin(theta)
    x = cos * r[..., 0] + sin * r[..., 1]
    y = -sin * r[..., 0] + cos * r[..., 1]
    vx = cos * v[..., 0] + sin * v[..., 1] + EARTH_ROTATION_RAD_S * y
    vy = -sin * v[..., 0] + cos * v[..., 1] - EARTH_ROTATION_RAD_S * x
    position = np.stack((x, y, r[..., 2]))
    velocity = np.stack((vx, vy, v[..., 2]))
    return position, velocity


def sites_ecef(
    lat: FloatArray, lon: FloatArray, alt_m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """WGS-84 sites (degrees, metres) as Earth-fixed km and their local up unit vectors."""
    phi, lam = np.radians(lat), np.radians(lon)
    n = WGS84_A_KM / np.sqrt(1.0 - _E2 * np.sin(phi) ** 2)
    h = alt_m / 1000.0
    up = np.stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)), axis=-1)
    position = np.stack(
        (
            (n + h) * np.cos(phi) * np.cos(lam),
            (n + h) * np.cos(phi) * np.sin(lam),
            (n * (1.0 - _E2) + h) * np.sin(phi),
        ),
        axis=-1,
    )
    return position, up


def geodetic(position: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Latitude and longitude (degrees) and height (km) of Earth-fixed points (Bowring)."""
    x, y, z = position[..., 0], position[..., 1], position[..., 2]
    p = np.hypot(x, y)
    b = WGS84_A_KM * (1.0 - WGS84_F)
    ep2 = (WGS84_A_KM**2 - b**2) / b**2
    theta = np.arctan2(z * WGS84_A_KM, p * b)
    phi = np.arctan2(z + ep2 * b * np.sin(theta) ** 3, p - _E2 * WGS84_A_KM * np.cos(theta) ** 3)
    n = WGS84_A_KM / np.sqrt(1.0 - _E2 * np.sin(phi) ** 2)
    height = p / np.maximum(np.cos(phi), 1e-12) - n
    return np.degrees(phi), np.degrees(np.arctan2(y, x)), height
