"""The exercise scenario: a deterministic stream of reports in send order, with the truth.

Simulated time advances in one-second steps. At each step every source decides, from its
own seeded random generator, what it observes; each report then waits in a queue until
its send time (self-reports a second later, imagery minutes later in a batch), so the
stream comes out in the order a server would receive it. Pure: no I/O, no wall clock.
"""

from __future__ import annotations

import dataclasses
import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tessera.core.model import Identity
from tessera.sim.forces import Entity, friendly_units, opposing_forces
from tessera.sim.geo import ROADS, Route
from tessera.sim.sensors import (
    IMAGERY,
    ReportIds,
    Sighting,
    drone_sighting,
    imagery_detection,
    open_source_report,
    self_report,
    spot_report,
    within,
)

DEFAULT_START: Final = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
IMAGERY_SWATH_M: Final = 30_000.0
DRONE_FOOTPRINT_M: Final = 4_000.0
DRONE_SPEED: Final = 30.0
# Every source id the exercise reports as (units, drones, the satellite, patrols, open
# sources): what the principal feeding it must own (tessera sources add NAME ...).
EXERCISE_SOURCES: Final = ("BLUE-*", "uav-*", "sat-*", "patrol-*", "osint-*")


@dataclass(frozen=True)
class ScenarioConfig:
    """The exercise's knobs; the named scenarios are settings of these."""

    seed: int = 1
    rate: float = 200.0
    start: datetime = DEFAULT_START
    units: int = 300
    opposing: int = 100
    column: int = 30
    column_spacing_m: float = 50.0
    drones: int = 24
    # A road every drone patrols (None: drones spread over all roads), and the stretch of
    # it (metres from its start) where each drone starts, at random.
    drone_road: str | None = None
    drone_start_m: tuple[float, float] = (0.0, 50_000.0)
    # Shares of the report rate by source.
    unit_share: float = 0.6
    drone_share: float = 0.3
    spot_share: float = 0.03
    osint_share: float = 0.03
    osint_false: float = 0.4
    imagery_every_s: int = 300
    imagery_delay_s: tuple[float, float] = (120.0, 400.0)


# Each named scenario is the exercise with some knobs turned.
SCENARIOS: Final[dict[str, dict[str, Any]]] = {
    "exercise": {},
    # A column of 40 vehicles 50 m apart, watched by drones and patrols only.
    "dense": {
        "units": 0,
        "opposing": 40,
        "column": 40,
        "drones": 6,
        "drone_road": "szczecinek-bydgoszcz",
        # Behind the column's head (20 km along the road), so each drone overtakes it
        # within ~11 minutes whatever the seed: with starts anywhere on the first 50 km, a
        # seed could put every drone ahead of it, flying away, and no drone ever saw it.
        "drone_start_m": (5_000.0, 20_000.0),
        "unit_share": 0.0,
        "drone_share": 0.8,
        "spot_share": 0.2,
        "osint_share": 0.0,
    },
    # Open sources drowning the picture in posts, most of them false.
    "cluttered": {"osint_share": 0.3, "osint_false": 0.8},
    # Imagery batches that arrive an hour after the pass.
    "late": {"imagery_every_s": 120, "imagery_delay_s": (3_300.0, 3_900.0)},
}


@dataclass(frozen=True)
class TruthObject:
    id: str
    lat: float
    lon: float
    identity: Identity
    kind: str


class Exercise:
    """Blue units self-reporting; red and unknown objects seen by drones, imagery, patrols
    and open sources, some of which are wrong."""

    name = "exercise"

    def __init__(self, config: ScenarioConfig) -> None:
        if config.rate <= 0:
            raise ValueError("rate must be greater than zero")
        self.config = config
        forces_rng = random.Random(f"{config.seed}-forces")
        self.units = friendly_units(forces_rng, config.units)
        self.opposing = opposing_forces(
            forces_rng, config.opposing, config.column, config.column_spacing_m
        )
        names = [config.drone_road] if config.drone_road else sorted(ROADS)
        routes = [Route(ROADS[name]) for name in names]
        self._drone_routes = [
            (
                f"uav-{index + 1:02d}",
                routes[index % len(routes)],
                forces_rng.uniform(*config.drone_start_m),
            )
            for index in range(config.drones)
        ]

    def truth(self, t: float) -> list[TruthObject]:
        """Where everything is ``t`` seconds into the exercise."""
        objects = []
        for entity in (*self.units, *self.opposing):
            lat, lon, _, _ = entity.position(t)
            objects.append(TruthObject(entity.id, lat, lon, entity.identity, entity.kind))
        return objects

    def sightings(self, duration: float | None = None) -> Iterator[Sighting]:
        """Reports in send order; ``duration`` bounds the simulated seconds observed."""
        config = self.config
        rng = random.Random(f"{config.seed}-sensors")
        ids = ReportIds(config.seed)
        queue: list[tuple[datetime, int, Sighting]] = []
        serial = 0
        t = 0
        while duration is None or t < duration:
            for sighting in self._observe(rng, ids, float(t)):
                serial += 1
                heapq.heappush(queue, (sighting.send_at, serial, sighting))
            now = config.start + timedelta(seconds=t)
            while queue and queue[0][0] <= now:
                yield heapq.heappop(queue)[2]
            t += 1
        # What was observed before the end is still sent, as late as it is due.
        while queue:
            yield heapq.heappop(queue)[2]

    def _observe(self, rng: random.Random, ids: ReportIds, t: float) -> list[Sighting]:
        config = self.config
        start = config.start
        out: list[Sighting] = []
        unit_chance = min(1.0, config.unit_share * config.rate / max(len(self.units), 1))
        for unit in self.units:
            if rng.random() < unit_chance:
                out.append(self_report(ids, rng, unit, t, start))
        seen = self._in_drone_footprints(t)
        if seen:
            chance = min(1.0, config.drone_share * config.rate / len(seen))
            for drone, seen_target in seen:
                if rng.random() < chance:
                    out.append(drone_sighting(ids, rng, drone, seen_target, t, start))
        for _ in range(_poisson(rng, config.spot_share * config.rate)):
            out.append(spot_report(ids, rng, rng.choice(self.opposing), t, start))
        for _ in range(_poisson(rng, config.osint_share * config.rate)):
            target: Entity | None = None
            if rng.random() >= config.osint_false:
                target = rng.choice(self.opposing)
            out.append(open_source_report(ids, rng, target, t, start))
        if t > 0 and int(t) % config.imagery_every_s == 0:
            out.extend(self._imagery_pass(rng, ids, t))
        return out

    def _in_drone_footprints(self, t: float) -> list[tuple[str, Entity]]:
        seen = []
        for drone, route, offset in self._drone_routes:
            lat, lon, _ = route.at(offset + DRONE_SPEED * t)
            for target in self.opposing:
                position = target.position(t)
                if within((position[0], position[1]), (lat, lon), DRONE_FOOTPRINT_M):
                    seen.append((drone, target))
        return seen

    def _imagery_pass(self, rng: random.Random, ids: ReportIds, t: float) -> list[Sighting]:
        """One satellite pass over a swath; the whole batch arrives minutes later."""
        centre_entity = rng.choice(self.opposing)
        lat, lon, _, _ = centre_entity.position(t)
        delay = rng.uniform(*self.config.imagery_delay_s)
        label = IMAGERY[int(t) // self.config.imagery_every_s % len(IMAGERY)]
        return [
            imagery_detection(ids, rng, target, t, self.config.start, delay, label)
            for target in self.opposing
            if within(target.position(t)[:2], (lat, lon), IMAGERY_SWATH_M) and rng.random() < 0.9
        ]


def _poisson(rng: random.Random, mean: float) -> int:
    """A small Poisson draw by counting exponential gaps (means of a few at most)."""
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


def build(name: str, config: ScenarioConfig) -> Exercise:
    """The named scenario, with the seed, rate and start of ``config``."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return Exercise(dataclasses.replace(config, **SCENARIOS[name]))
