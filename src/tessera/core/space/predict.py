"""Passes of known satellites over places, as records the API, the CLI and alerts share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec
import numpy as np

from tessera.core.model import Identity, Label
from tessera.core.space.catalog import Satellite
from tessera.core.space.passes import Sites, find_passes


class Pass(msgspec.Struct, frozen=True, kw_only=True):
    """One pass of one satellite over one place (``site``: its index in the places asked
    about). Times are None where they fall beyond what was computed. ``in_field``: the
    place is within the sensor's half-angle off nadir at culmination."""

    site: int
    norad_id: int
    name: str
    identity: Identity
    imaging: bool
    label: Label
    rise: datetime | None
    culmination: datetime
    set: datetime | None
    max_elevation: float
    off_nadir: float
    in_field: bool


def _moment(seconds: float) -> datetime | None:
    return None if np.isnan(seconds) else datetime.fromtimestamp(round(seconds, 3), UTC)


def passes_over(
    satellites: Sequence[Satellite],
    sites: Sites,
    start: datetime,
    span: timedelta,
    *,
    mask_degrees: float = 0.0,
) -> list[Pass]:
    """Every pass over every site in [start, start + span], by rise (else culmination)."""
    table = find_passes(
        [satellite.elements for satellite in satellites],
        sites,
        start.timestamp(),
        (start + span).timestamp(),
        mask_degrees=mask_degrees,
    )
    result = []
    for row in range(len(table)):
        satellite = satellites[int(table.satellite[row])]
        off_nadir = float(table.off_nadir[row])
        culmination = _moment(float(table.culmination[row]))
        assert culmination is not None
        result.append(
            Pass(
                site=int(table.site[row]),
                norad_id=satellite.norad_id,
                name=satellite.name,
                identity=satellite.identity,
                imaging=satellite.imaging,
                label=satellite.label,
                rise=_moment(float(table.rise[row])),
                culmination=culmination,
                set=_moment(float(table.set[row])),
                max_elevation=round(float(table.max_elevation[row]), 3),
                off_nadir=round(off_nadir, 3),
                in_field=off_nadir <= satellite.sensor_half_angle,
            )
        )
    result.sort(key=lambda p: (p.rise or p.culmination, p.norad_id, p.site))
    return result
