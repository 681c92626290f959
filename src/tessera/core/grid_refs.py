"""Military grid references (MGRS) of positions, for what people read: track and overlay
details, exports' remarks. The conversion is GeoTrans's, through the ``mgrs`` binding."""

from __future__ import annotations

import math
import re
from typing import Final

import mgrs

# A reference as GeoTrans writes it: zone and band (none near the poles), the 100 km
# square, then easting and northing of equal length.
_PARTS: Final = re.compile(r"(\d{0,2}[A-Z])([A-Z]{2})(\d*)")
# 1 m: five digits each of easting and northing.
METRE: Final = 5
# Half a metre of latitude, in degrees.
_EQUATOR_SLACK: Final = 0.5 / 110_574.0


class GridRefError(ValueError):
    """Text that is no MGRS reference."""


def mgrs_ref(lat: float, lon: float, precision: int = METRE) -> str | None:
    """``lat``/``lon`` as an MGRS reference spaced for reading ("34U BD 99831 90190"), to
    ``precision`` digits of easting and northing each (5: 1 m, 4: 10 m, ... 0: the 100 km
    square); None for a position that has none (not finite, or off the globe)."""
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        return None
    if not 0 <= precision <= METRE:
        raise ValueError("precision is 0-5 digits")
    if -_EQUATOR_SLACK < lat < 0.0:
        # GeoTrans rounds a southern northing this close to the equator up to 10,000 km,
        # a square of band M that its own reading refuses: the place is on the equator,
        # to the reference's metre.
        lat = 0.0
    try:
        raw = mgrs.MGRS().toMGRS(lat, lon, MGRSPrecision=precision)
    except mgrs.core.MGRSError:
        return None
    return spaced(raw if isinstance(raw, str) else raw.decode("ascii"))


def spaced(reference: str) -> str:
    """ "34UBD9983190190" as "34U BD 99831 90190"."""
    compact = "".join(reference.split()).upper()
    match = _PARTS.fullmatch(compact)
    if match is None or len(match.group(3)) % 2:
        raise GridRefError(f"{reference!r} is not an MGRS reference")
    zone, square, digits = match.groups()
    half = len(digits) // 2
    return " ".join(part for part in (zone, square, digits[:half], digits[half:]) if part)


def mgrs_position(reference: str) -> tuple[float, float]:
    """The (lat, lon) of an MGRS reference's south-west corner, spaced or not."""
    compact = "".join(reference.split()).upper()
    spaced(compact)  # refuses what is plainly no reference, with a clear message
    try:
        lat, lon = mgrs.MGRS().toLatLon(compact)
    except mgrs.core.MGRSError as exc:
        raise GridRefError(f"{reference!r} is not an MGRS reference: {exc}") from None
    return float(lat), float(lon)
