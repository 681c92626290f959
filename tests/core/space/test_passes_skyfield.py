"""Pass predictions against an independent implementation (Skyfield's find_events) for 20
published element sets over a week: rise and set within a second, culmination elevation
within a tenth of a degree."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from skyfield.api import EarthSatellite, load, wgs84

from tessera.codecs.elements import decode_element_sets
from tessera.core.space.passes import PassTable, Sites, find_passes

ELEMENTS = Path(__file__).with_name("elements_2025_179.tle")
START = datetime(2025, 6, 28, tzinfo=UTC)
WEEK = 7 * 86400.0
SITES = Sites(lat=[50.45, -33.92], lon=[30.52, 18.42], alt=[180.0, 10.0])


@pytest.fixture(scope="module")
def table() -> PassTable:
    sets = decode_element_sets(ELEMENTS.read_bytes())
    assert len(sets) == 20
    return find_passes(sets, SITES, START.timestamp(), START.timestamp() + WEEK)


def test_passes_match_skyfield_within_a_second_and_a_tenth_of_a_degree(table: PassTable) -> None:
    sets = decode_element_sets(ELEMENTS.read_bytes())
    ts = load.timescale(builtin=True)
    t0, t1 = ts.from_datetime(START), ts.tt_jd(ts.from_datetime(START).tt + WEEK / 86400.0)
    start, end = START.timestamp(), START.timestamp() + WEEK
    compared = 0
    for site in range(2):
        topos = wgs84.latlon(SITES.lat[site], SITES.lon[site], SITES.alt[site])
        for index, elements in enumerate(sets):
            assert elements.tle is not None
            satellite = EarthSatellite(elements.tle[0], elements.tle[1], elements.name, ts)
            times, events = satellite.find_events(topos, t0, t1, altitude_degrees=0.0)
            seconds = np.array([moment.timestamp() for moment in times.utc_datetime()])
            mine = (table.satellite == index) & (table.site == site)
            theirs_culminations = seconds[events == 1]
            in_span = (table.culmination[mine] >= start) & (table.culmination[mine] <= end)
            assert in_span.sum() == theirs_culminations.size, (elements.name, site)
            for kind, column in ((0, table.rise[mine]), (2, table.set[mine])):
                for moment in seconds[events == kind]:
                    assert np.nanmin(np.abs(column - moment)) < 1.0, (elements.name, kind)
            altitudes = (satellite - topos).at(times[events == 1]).altaz()[0].degrees
            for moment, altitude in zip(theirs_culminations, altitudes, strict=True):
                nearest = np.nanargmin(np.abs(table.culmination[mine] - moment))
                assert abs(table.max_elevation[mine][nearest] - altitude) < 0.1
            # Skyfield's own elevation at our rise and set times: on the horizon.
            ours = np.concatenate((table.rise[mine], table.set[mine]))
            ours = ours[~np.isnan(ours)]
            at = ts.from_datetimes([datetime.fromtimestamp(s, UTC) for s in ours])
            horizon = (satellite - topos).at(at).altaz()[0].degrees
            assert np.max(np.abs(horizon)) < 0.01
            compared += theirs_culminations.size
    assert compared > 1500


def test_culmination_is_the_highest_point_and_off_nadir_is_consistent(table: PassTable) -> None:
    assert np.all(table.max_elevation >= 0.0)
    assert np.all(table.rise[~np.isnan(table.rise)] < table.culmination[~np.isnan(table.rise)])
    assert np.all(table.set[~np.isnan(table.set)] > table.culmination[~np.isnan(table.set)])
    # Overhead passes are seen at nadir; passes on the horizon far off it.
    overhead = table.max_elevation > 85
    assert np.all(table.off_nadir[overhead] < 5)
    assert np.all(table.off_nadir[table.max_elevation < 5] > 50)
