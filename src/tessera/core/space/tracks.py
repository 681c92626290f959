"""Satellites on the map: where each is now (an APP-6 space symbol), its ground track over
the last and the next orbit, and its sensor's footprint, as GeoJSON features."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import numpy as np
from sgp4.api import SatrecArray

from tessera.core.model import Identity
from tessera.core.space.catalog import Satellite
from tessera.core.space.elements import satrec
from tessera.core.space.frames import WGS84_A_KM, geodetic, propagate_ecef

# APP-6(D) standard identity digits; symbol set 05 (space), entity 110700 (satellite).
_IDENTITY_DIGIT: Final = {
    Identity.PENDING: "0",
    Identity.UNKNOWN: "1",
    Identity.ASSUMED_FRIEND: "2",
    Identity.FRIEND: "3",
    Identity.NEUTRAL: "4",
    Identity.SUSPECT: "5",
    Identity.HOSTILE: "6",
}
ORBIT_SAMPLES: Final = 90
_FOOTPRINT_POINTS: Final = 48


def space_sidc(identity: Identity) -> str:
    return f"100{_IDENTITY_DIGIT[identity]}0500001107000000"


def footprint_radius_km(altitude_km: float, half_angle_deg: float) -> float:
    """Ground radius (along the surface) of a cone of ``half_angle_deg`` off nadir; past
    the horizon, the horizon's."""
    radius = WGS84_A_KM
    eta = math.radians(half_angle_deg)
    ratio = (radius + altitude_km) / radius * math.sin(eta)
    central = math.acos(radius / (radius + altitude_km)) if ratio >= 1 else math.asin(ratio) - eta
    return radius * central


def _circle(lat: float, lon: float, radius_km: float) -> list[list[float]]:
    delta = radius_km / WGS84_A_KM
    phi, lam = math.radians(lat), math.radians(lon)
    ring = []
    for k in range(_FOOTPRINT_POINTS + 1):
        bearing = 2 * math.pi * k / _FOOTPRINT_POINTS
        sin_lat = math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(
            bearing
        )
        lat2 = math.asin(max(-1.0, min(1.0, sin_lat)))
        lon2 = lam + math.atan2(
            math.sin(bearing) * math.sin(delta) * math.cos(phi),
            math.cos(delta) - math.sin(phi) * sin_lat,
        )
        ring.append([round(math.degrees(lon2), 5), round(math.degrees(lat2), 5)])
    return ring


def _split_at_antimeridian(lons: np.ndarray, lats: np.ndarray) -> list[list[list[float]]]:
    """A path as lines that never jump across the antimeridian."""
    lines: list[list[list[float]]] = [[]]
    for i, (lon, lat) in enumerate(zip(lons, lats, strict=True)):
        if not (np.isfinite(lon) and np.isfinite(lat)):
            continue
        if i and lines[-1] and abs(lon - lines[-1][-1][0]) > 180.0:
            lines.append([])
        lines[-1].append([round(float(lon), 4), round(float(lat), 4)])
    return [line for line in lines if len(line) >= 2]


def satellite_features(satellites: Sequence[Satellite], now: datetime) -> list[dict[str, Any]]:
    """For each satellite: its position now, its ground track (the last orbit and the
    next) and its sensor's footprint, all propagated together."""
    if not satellites:
        return []
    t0 = now.timestamp()
    fractions = np.linspace(-1.0, 1.0, 2 * ORBIT_SAMPLES + 1)
    features: list[dict[str, Any]] = []
    for satellite in satellites:
        period_s = satellite.elements.period_minutes * 60.0
        times = t0 + fractions * period_s
        position, _ = propagate_ecef(SatrecArray([satrec(satellite.elements)]), times)
        lat, lon, height = geodetic(np.moveaxis(position[:, 0, :], 0, -1))
        now_i = ORBIT_SAMPLES
        if not np.isfinite(lat[now_i]):
            continue  # decayed, or elements SGP4 refuses
        common = {
            "norad_id": satellite.norad_id,
            "name": satellite.name,
            "identity": satellite.identity.value,
            "imaging": satellite.imaging,
            "classification": satellite.label.classification,
            "releasable_to": list(satellite.label.releasable_to),
        }
        altitude = float(height[now_i])
        footprint = footprint_radius_km(altitude, satellite.sensor_half_angle)
        point = [round(float(lon[now_i]), 5), round(float(lat[now_i]), 5)]
        features.append(
            {
                "type": "Feature",
                "id": f"sat-{satellite.source}-{satellite.norad_id}",
                "geometry": {"type": "Point", "coordinates": point},
                "properties": {
                    **common,
                    "part": "satellite",
                    "sidc": space_sidc(satellite.identity),
                    "altitude_km": round(altitude, 1),
                    "footprint_km": round(footprint, 1),
                    "sensor_half_angle": satellite.sensor_half_angle,
                },
            }
        )
        for when, part in (("past", slice(0, now_i + 1)), ("next", slice(now_i, None))):
            features.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "MultiLineString",
                        "coordinates": _split_at_antimeridian(lon[part], lat[part]),
                    },
                    "properties": {**common, "part": "ground_track", "when": when},
                }
            )
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [_circle(float(lat[now_i]), float(lon[now_i]), footprint)],
                },
                "properties": {**common, "part": "footprint"},
            }
        )
    return features
