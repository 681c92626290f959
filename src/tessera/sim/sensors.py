"""How each kind of source sees the truth: its error, delay, grading, label and mistakes."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from tessera.core.fusion.geo import offset_metres
from tessera.core.model import (
    Grading,
    Identity,
    Label,
    Position,
    Report,
    Source,
    SourceKind,
    Velocity,
)
from tessera.core.symbols import with_identity
from tessera.sim.forces import Entity
from tessera.sim.geo import jitter

NATO = Label("RESTRICTED", ("NATO",))
NATO_UKR = Label("RESTRICTED", ("NATO", "UKR"))
NATO_POL = Label("RESTRICTED", ("NATO", "POL"))
OPEN = Label("UNCLASSIFIED", ("EU", "NATO", "UKR"))
IMAGERY = (Label("SECRET", ("NATO",)), Label("CONFIDENTIAL", ("NATO", "UKR")))
# The exercise box: northern Poland between Drawsko Pomorskie and Torun.
AREA = ((52.95, 15.55), (53.80, 18.65))


@dataclass(frozen=True)
class Sighting:
    """A report about to be sent: when it is sent, and which truth object it is about."""

    send_at: datetime
    report: Report
    truth: str | None


class ReportIds:
    """Deterministic report ids: the seed and a serial number."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._serial = 0

    def next(self) -> str:
        self._serial += 1
        return f"sim{self._seed}-{self._serial:08d}"


def _noisy(rng: random.Random, lat: float, lon: float, ce: float) -> tuple[float, float]:
    # ce is the 1-sigma horizontal error: sigma ce/sqrt(2) on each axis.
    sigma = ce / math.sqrt(2.0)
    return jitter(lat, lon, rng.gauss(0.0, sigma), rng.gauss(0.0, sigma))


def self_report(
    ids: ReportIds, rng: random.Random, unit: Entity, t: float, start: datetime
) -> Sighting:
    lat, lon, course, speed = unit.position(t)
    ce = rng.uniform(5.0, 15.0)
    lat, lon = _noisy(rng, lat, lon, ce)
    observed = start + timedelta(seconds=t)
    report = Report(
        id=ids.next(),
        source=Source(unit.id, SourceKind.UNIT),
        observed_at=observed,
        position=Position(lat, lon, None, ce),
        velocity=Velocity(round(course, 1) % 360.0, round(speed, 2)),
        subject=unit.id,
        identity=Identity.FRIEND,
        sidc=unit.sidc,
        grading=Grading("A", 1),
        label=NATO,
        remarks="",
        parent=unit.parent,
    )
    return Sighting(observed + timedelta(seconds=rng.uniform(0.1, 1.5)), report, unit.id)


def drone_sighting(
    ids: ReportIds,
    rng: random.Random,
    drone: str,
    target: Entity,
    t: float,
    start: datetime,
) -> Sighting:
    lat, lon, course, speed = target.position(t)
    ce = rng.uniform(20.0, 80.0)
    lat, lon = _noisy(rng, lat, lon, ce)
    stated = target.identity
    if stated is Identity.HOSTILE and rng.random() < 0.2:
        stated = Identity.SUSPECT
    velocity = None
    if speed > 0 and rng.random() < 0.5:
        velocity = Velocity((course + rng.gauss(0, 8)) % 360.0, max(speed + rng.gauss(0, 1.5), 0.0))
    observed = start + timedelta(seconds=t)
    report = Report(
        id=ids.next(),
        source=Source(drone, SourceKind.UAV),
        observed_at=observed,
        position=Position(lat, lon, None, round(ce, 1)),
        velocity=velocity,
        identity=stated,
        sidc=with_identity(target.sidc, stated),
        grading=Grading(rng.choice("BBBC"), 2),
        label=NATO_UKR,
        remarks=f"{target.kind} sighted by {drone}",
    )
    return Sighting(observed + timedelta(seconds=rng.uniform(0.5, 3.0)), report, target.id)


def imagery_detection(
    ids: ReportIds,
    rng: random.Random,
    target: Entity,
    t: float,
    start: datetime,
    delay: float,
    label: Label,
) -> Sighting:
    lat, lon, _, _ = target.position(t)
    lat, lon = _noisy(rng, lat, lon, 15.0)
    observed = start + timedelta(seconds=t)
    report = Report(
        id=ids.next(),
        source=Source("sat-eo-1", SourceKind.SATELLITE),
        observed_at=observed,
        position=Position(lat, lon, None, 15.0),
        identity=Identity.SUSPECT,
        sidc=with_identity(target.sidc, Identity.SUSPECT),
        grading=Grading("B", rng.choice((2, 3))),
        label=label,
        remarks="vehicle detected on electro-optical imagery",
    )
    return Sighting(observed + timedelta(seconds=delay), report, target.id)


def spot_report(
    ids: ReportIds, rng: random.Random, target: Entity, t: float, start: datetime
) -> Sighting:
    lat, lon, _, _ = target.position(t)
    ce = rng.uniform(100.0, 300.0)
    lat, lon = _noisy(rng, lat, lon, ce)
    stated = target.identity if rng.random() < 0.8 else Identity.SUSPECT
    if target.identity is Identity.UNKNOWN and stated is Identity.SUSPECT:
        stated = Identity.UNKNOWN
    observed = start + timedelta(seconds=t)
    report = Report(
        id=ids.next(),
        source=Source(f"patrol-{rng.randrange(1, 9)}", SourceKind.HUMAN),
        observed_at=observed,
        position=Position(lat, lon, None, round(ce)),
        identity=stated,
        sidc=with_identity(target.sidc, stated),
        quantity=rng.choice((1, 1, 2, 3)),
        grading=Grading(rng.choice("BCC"), rng.choice((2, 3, 3))),
        label=NATO_POL,
        remarks=f"SALUTE: {target.kind} moving, observed from OP",
    )
    return Sighting(observed + timedelta(seconds=rng.uniform(30, 180)), report, target.id)


def open_source_report(
    ids: ReportIds,
    rng: random.Random,
    target: Entity | None,
    t: float,
    start: datetime,
) -> Sighting:
    """A social-media post: vague, late, poorly graded, and with no target, simply false."""
    ce = rng.uniform(500.0, 2_000.0)
    if target is None:
        (south, west), (north, east) = AREA
        lat, lon = rng.uniform(south, north), rng.uniform(west, east)
        remarks = "post claims armour on the road; unverified"
    else:
        true_lat, true_lon, _, _ = target.position(t)
        lat, lon = _noisy(rng, true_lat, true_lon, ce)
        remarks = "geolocated video shows military vehicles"
    observed = start + timedelta(seconds=t)
    report = Report(
        id=ids.next(),
        source=Source(f"osint-{rng.randrange(1, 30)}", SourceKind.OSINT),
        observed_at=observed,
        position=Position(lat, lon, None, round(ce)),
        identity=rng.choice((Identity.HOSTILE, Identity.UNKNOWN)),
        grading=Grading(rng.choice("DEEF"), rng.choice((4, 5, 6))),
        label=OPEN,
        remarks=remarks,
    )
    truth = None if target is None else target.id
    return Sighting(observed + timedelta(seconds=rng.uniform(60, 600)), report, truth)


def within(
    entity_position: tuple[float, float], centre: tuple[float, float], radius: float
) -> bool:
    east, north = offset_metres(centre[0], centre[1], entity_position[0], entity_position[1])
    return east * east + north * north <= radius * radius
