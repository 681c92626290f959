"""Mean element sets (the fields of a CCSDS OMM, which a TLE carries too) and SGP4 state."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Final

import msgspec
from sgp4.api import WGS72, Satrec

# sgp4init counts the epoch in days from 1949-12-31 00:00 UTC.
_SGP4_EPOCH0: Final = datetime(1949, 12, 31, tzinfo=UTC)
_MINUTES_PER_DAY: Final = 1440.0
# SGP4 wants the mean motion's derivatives per minute squared and cubed (OMM: rev/day²,³).
_NDOT_UNITS: Final = _MINUTES_PER_DAY**2 / (2.0 * math.pi)
_NDDOT_UNITS: Final = _MINUTES_PER_DAY**3 / (2.0 * math.pi)


class ElementSet(msgspec.Struct, frozen=True, kw_only=True):
    """One satellite's SGP4 mean elements at an epoch, by the OMM's names and units
    (degrees, revolutions per day). ``tle`` keeps the two lines when the set came as a TLE,
    so the propagator reads exactly what was published."""

    norad_id: int
    name: str
    object_id: str
    epoch: datetime
    mean_motion: float
    eccentricity: float
    inclination: float
    ra_of_asc_node: float
    arg_of_pericenter: float
    mean_anomaly: float
    bstar: float
    mean_motion_dot: float = 0.0
    mean_motion_ddot: float = 0.0
    tle: tuple[str, str] | None = None

    @property
    def period_minutes(self) -> float:
        return _MINUTES_PER_DAY / self.mean_motion


def satrec(elements: ElementSet) -> Satrec:
    """The SGP4 record of an element set (WGS-72 constants, as SGP4 defines them)."""
    if elements.tle is not None:
        return Satrec.twoline2rv(elements.tle[0], elements.tle[1])
    record = Satrec()
    epoch_days = (elements.epoch - _SGP4_EPOCH0).total_seconds() / 86400.0
    degrees = math.pi / 180.0
    record.sgp4init(
        WGS72,
        "i",
        elements.norad_id,
        epoch_days,
        elements.bstar,
        elements.mean_motion_dot / _NDOT_UNITS,
        elements.mean_motion_ddot / _NDDOT_UNITS,
        elements.eccentricity,
        elements.arg_of_pericenter * degrees,
        elements.inclination * degrees,
        elements.mean_anomaly * degrees,
        elements.mean_motion * 2.0 * math.pi / _MINUTES_PER_DAY,
        elements.ra_of_asc_node * degrees,
    )
    return record
