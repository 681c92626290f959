"""The exercise's fictional forces: who is where at any moment (the ground truth).

Every entity's position is a pure function of time, so the truth at any instant costs one
evaluation and the scenario never has to store a history.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from tessera.core.model import Identity
from tessera.sim.geo import BYDGOSZCZ_CENTRE, DRAWSKO_CENTRE, ROADS, Route, jitter

# APP-6(D) SIDCs (land unit symbol set 10, land equipment 15). Checked by the tests
# against tessera.core.symbols and drawn by milsymbol in the browser test.
# Companies (echelon 15); the first of every four units is its battalion's headquarters.
FRIEND_UNITS = (
    ("infantry", "10031000151211000000"),
    ("armour", "10031000151205000000"),
    ("reconnaissance", "10031000151213000000"),
    ("artillery", "10031000151303000000"),
)
BATTALION_HQ_SIDC = "10031002161211000000"
# The order of battle: four units to a battalion (its headquarters and three companies),
# three battalions to a brigade (which reports nothing of its own).
BATTALION_SIZE = 4
BRIGADE_SIZE = 3
HOSTILE_SIDCS = (
    ("armoured vehicle", "10061500001201000000"),
    ("infantry", "10061000001211000000"),
    ("armour", "10061000001205000000"),
)
UNKNOWN_SIDC = "10011500001201000000"
COLUMN_SIDC = "10061500001201000000"


@dataclass(frozen=True)
class Entity:
    """One real object. ``route`` with ``speed`` (m/s) and ``offset`` (m) says where it is;
    a friendly unit loiters around ``home`` instead."""

    id: str
    kind: str
    identity: Identity
    sidc: str
    route: Route | None
    speed: float
    offset: float
    home: tuple[float, float]
    wander_m: float
    phase: float
    parent: str | None = None

    def position(self, t: float) -> tuple[float, float, float, float]:
        """(lat, lon, course, speed) at ``t`` seconds into the exercise."""
        if self.route is not None:
            lat, lon, course = self.route.at(self.offset + self.speed * t)
            return lat, lon, course, self.speed
        # A slow ellipse around home: units shifting within their area of operations.
        omega = self.speed / max(self.wander_m, 1.0)
        angle = self.phase + omega * t
        east = self.wander_m * math.cos(angle)
        north = 0.6 * self.wander_m * math.sin(angle)
        lat, lon = jitter(self.home[0], self.home[1], east, north)
        ve = -self.wander_m * omega * math.sin(angle)
        vn = 0.6 * self.wander_m * omega * math.cos(angle)
        course = math.degrees(math.atan2(ve, vn)) % 360.0
        return lat, lon, course, math.hypot(ve, vn)


def _unit_id(index: int) -> str:
    return f"BLUE-{index:03d}"


def friendly_units(rng: random.Random, count: int) -> list[Entity]:
    """Battalions of a headquarters and three companies, each battalion's units within a
    few kilometres of its headquarters, the battalions spread over two training areas."""
    units = []
    battalion_home = (0.0, 0.0)
    for index in range(count):
        battalion, place = divmod(index, BATTALION_SIZE)
        centre = DRAWSKO_CENTRE if battalion % 3 else BYDGOSZCZ_CENTRE
        kind, sidc = FRIEND_UNITS[index % len(FRIEND_UNITS)]
        east, north = rng.uniform(-35_000, 35_000), rng.uniform(-20_000, 20_000)
        if place == 0:
            sidc = BATTALION_HQ_SIDC
            battalion_home = jitter(centre[0], centre[1], east, north)
            home = battalion_home
            parent = f"BLUE-BDE-{battalion // BRIGADE_SIZE}"
        else:
            home = jitter(battalion_home[0], battalion_home[1], east / 12, north / 12)
            parent = _unit_id(index - place)
        units.append(
            Entity(
                id=_unit_id(index),
                kind=kind,
                identity=Identity.FRIEND,
                sidc=sidc,
                route=None,
                speed=rng.choice((0.0, 0.5, 1.5, 4.0)),
                offset=0.0,
                home=home,
                wander_m=rng.uniform(200, 2_000),
                phase=rng.uniform(0, 2 * math.pi),
                parent=parent,
            )
        )
    return units


def opposing_forces(
    rng: random.Random, count: int, column: int, spacing_m: float = 50.0
) -> list[Entity]:
    """``column`` vehicles ``spacing_m`` apart on the long approach, the rest on roads."""
    routes = {name: Route(points) for name, points in ROADS.items()}
    entities = [
        Entity(
            id=f"RED-COL-{index:02d}",
            kind="armoured vehicle",
            identity=Identity.HOSTILE,
            sidc=COLUMN_SIDC,
            route=routes["szczecinek-bydgoszcz"],
            speed=8.0,
            offset=20_000.0 - spacing_m * index,
            home=(0.0, 0.0),
            wander_m=0.0,
            phase=0.0,
        )
        for index in range(column)
    ]
    names = sorted(routes)
    for index in range(count - column):
        hostile = index % 10 < 7
        kind, sidc = (
            HOSTILE_SIDCS[index % len(HOSTILE_SIDCS)] if hostile else ("vehicle", UNKNOWN_SIDC)
        )
        route = routes[names[index % len(names)]]
        entities.append(
            Entity(
                id=f"{'RED' if hostile else 'UNK'}-{index:03d}",
                kind=kind,
                identity=Identity.HOSTILE if hostile else Identity.UNKNOWN,
                sidc=sidc,
                route=route,
                speed=rng.choice((0.0, 0.0, 3.0, 6.0, 11.0, 15.0)),
                offset=rng.uniform(0, route.length),
                home=(0.0, 0.0),
                wander_m=0.0,
                phase=0.0,
            )
        )
    return entities
