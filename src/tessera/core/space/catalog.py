"""Satellites as Tessera knows them: element sets with a label, an identity and a sensor.

Where the element sets come from and what each satellite is (``[[satellites]]`` in the
settings) is data here; reading files and fetching URLs is the adapter's (tessera.space).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

import msgspec

from tessera.core.labels import ClassificationScheme, Picture, admits
from tessera.core.model import Identifier, Identity, Label
from tessera.core.space.elements import ElementSet

HalfAngle = Annotated[float, msgspec.Meta(ge=0.0, le=90.0)]


class SatelliteProfile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What some of a source's satellites are (those with ``norad_ids``; empty: all):
    identity, whether they image the ground, and their sensor's half-angle off nadir
    (the swath's or the field of regard's)."""

    norad_ids: tuple[int, ...] = ()
    identity: Identity | None = None
    imaging: bool | None = None
    sensor_half_angle: HalfAngle | None = None
    label: Label | None = None


class SatelliteSource(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[[satellites]]`` in the settings: element sets (TLE or OMM) from a file or a URL
    refreshed every ``refresh_s``, labelled like every report, with what the satellites
    are by default and per NORAD id (``profiles``, the last that names one wins)."""

    name: Identifier
    label: Label
    file: str | None = None
    url: str | None = None
    refresh_s: float = 6 * 3600.0
    identity: Identity = Identity.UNKNOWN
    imaging: bool = False
    sensor_half_angle: HalfAngle = 30.0
    profiles: tuple[SatelliteProfile, ...] = ()


class Satellite(msgspec.Struct, frozen=True, kw_only=True):
    """One satellite: its elements and what it is, from ``source``."""

    elements: ElementSet
    source: str
    label: Label
    identity: Identity
    imaging: bool
    sensor_half_angle: float

    @property
    def norad_id(self) -> int:
        return self.elements.norad_id

    @property
    def name(self) -> str:
        return self.elements.name


def source_problems(sources: Sequence[SatelliteSource]) -> list[str]:
    """What is inconsistent in the ``[[satellites]]`` settings, one line each."""
    problems: list[str] = []
    names = [source.name for source in sources]
    if len(set(names)) != len(names):
        problems.append("satellites: source names must be distinct")
    for source in sources:
        if (source.file is None) == (source.url is None):
            problems.append(f"satellites {source.name}: give exactly one of file and url")
        if source.url is not None and not source.url.startswith(("http://", "https://")):
            problems.append(f"satellites {source.name}: url must be http:// or https://")
        if not 60.0 <= source.refresh_s <= 7 * 86400.0:
            problems.append(f"satellites {source.name}: refresh_s must be 60 s to 7 days")
    return problems


def profiled(source: SatelliteSource, sets: Sequence[ElementSet]) -> list[Satellite]:
    """The source's element sets as satellites, each with what its profiles say it is."""
    result = []
    for elements in sets:
        identity, imaging, half, label = (
            source.identity,
            source.imaging,
            source.sensor_half_angle,
            source.label,
        )
        for profile in source.profiles:
            if profile.norad_ids and elements.norad_id not in profile.norad_ids:
                continue
            identity = profile.identity or identity
            imaging = imaging if profile.imaging is None else profile.imaging
            half = half if profile.sensor_half_angle is None else profile.sensor_half_angle
            label = profile.label or label
        result.append(
            Satellite(
                elements=elements,
                source=source.name,
                label=label,
                identity=identity,
                imaging=imaging,
                sensor_half_angle=half,
            )
        )
    return result


def newest(satellites: Sequence[Satellite]) -> list[Satellite]:
    """One satellite per (source, NORAD id): the one with the latest epoch."""
    chosen: dict[tuple[str, int], Satellite] = {}
    for satellite in satellites:
        key = (satellite.source, satellite.norad_id)
        held = chosen.get(key)
        if held is None or satellite.elements.epoch > held.elements.epoch:
            chosen[key] = satellite
    return list(chosen.values())


def visible_to(
    picture: Picture, satellites: Sequence[Satellite], scheme: ClassificationScheme
) -> list[Satellite]:
    """The satellites a picture's readers may know of (its admission rule over their labels)."""
    return [s for s in satellites if admits(picture, s.label, scheme)]


def epoch_age_days(satellite: Satellite, at: datetime) -> float:
    return (at - satellite.elements.epoch).total_seconds() / 86400.0
