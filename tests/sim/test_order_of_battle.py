"""The exercise's friendly units form an order of battle the map can fold by echelon."""

from __future__ import annotations

import random

from tessera.core.fusion.geo import offset_metres
from tessera.sim.forces import BATTALION_HQ_SIDC, friendly_units


def test_companies_belong_to_nearby_battalions_and_battalions_to_brigades() -> None:
    units = friendly_units(random.Random(1), 24)
    by_id = {unit.id: unit for unit in units}
    headquarters = [unit for unit in units if unit.sidc == BATTALION_HQ_SIDC]
    assert len(headquarters) == 6
    assert {unit.parent for unit in headquarters} == {"BLUE-BDE-0", "BLUE-BDE-1"}
    for unit in units:
        assert unit.parent is not None
        if unit.sidc == BATTALION_HQ_SIDC:
            continue
        assert unit.sidc[8:10] == "15"  # a company
        battalion = by_id[unit.parent]
        assert battalion.sidc == BATTALION_HQ_SIDC
        east, north = offset_metres(battalion.home[0], battalion.home[1], *unit.home)
        assert abs(east) < 3_000 and abs(north) < 2_000
