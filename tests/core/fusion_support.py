"""Reports and feeding helpers shared by the fusion tests."""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from tessera.core.fusion import compiled
from tessera.core.fusion.engine import FusionSettings, KalmanTracker
from tessera.core.labels import ClassificationScheme
from tessera.core.model import (
    Grading,
    Identity,
    Label,
    Position,
    Report,
    Source,
    SourceKind,
    Track,
    Velocity,
)

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
SERIAL = itertools.count()
HOSTILE_VEHICLE = "10061500001201000000"


def report(
    *,
    at: float,
    lat: float = 53.0,
    lon: float = 18.0,
    ce: float = 30.0,
    subject: str | None = None,
    kind: SourceKind = SourceKind.UAV,
    source: str = "uav-1",
    identity: Identity = Identity.HOSTILE,
    grading: str = "B2",
    label: Label | None = None,
    received_after: float = 0.5,
    sidc: str | None = HOSTILE_VEHICLE,
    velocity: Velocity | None = None,
) -> Report:
    observed = T0 + timedelta(seconds=at)
    if sidc is not None and identity is not Identity.HOSTILE:
        sidc = None
    return Report(
        id=f"r{next(SERIAL):06d}",
        source=Source(source, kind),
        observed_at=observed,
        received_at=observed + timedelta(seconds=received_after),
        position=Position(lat, lon, None, ce),
        velocity=velocity,
        subject=subject,
        identity=identity,
        sidc=sidc,
        grading=Grading.parse(grading),
        label=label or Label("UNCLASSIFIED"),
    )


def unit_report(*, at: float, lat: float = 53.0) -> Report:
    return report(
        at=at,
        lat=lat,
        ce=10,
        subject="bn-1",
        kind=SourceKind.UNIT,
        source="bn-1",
        identity=Identity.FRIEND,
    )


def tracker(**overrides: float) -> KalmanTracker:
    """An engine with millisecond micro-batches (unless told otherwise), so each step of a
    test sees its reports applied: a batch closes only once the clock has passed it."""
    options: dict[str, float] = {"batch_seconds": 0.001, **overrides}
    return KalmanTracker(ClassificationScheme(), FusionSettings(**options))  # type: ignore[arg-type]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def feed(engine: KalmanTracker, reports: Sequence[Report], *, cuts: Sequence[int] = ()) -> None:
    """Feed in steps cut at ``cuts`` (default: one report per step), each step closing up
    to its last received time unless the next report shares it (as the worker does)."""
    bounds = sorted({0, *cuts, len(reports)}) if cuts else list(range(len(reports) + 1))
    for start, end in itertools.pairwise(bounds):
        batch = reports[start:end]
        if not batch:
            continue
        now = batch[-1].received_at
        assert now is not None
        if end < len(reports) and reports[end].received_at == now:
            now -= timedelta(microseconds=1)
        engine.step(now, batch)


def only(engine: KalmanTracker) -> Track:
    tracks = list(engine.tracks())
    assert len(tracks) == 1, tracks
    return tracks[0]


def require_kernels() -> None:
    """Skip a test of the compiled kernels where they were not built; in CI, fail it."""
    if compiled.COMPILED:
        return
    if os.environ.get("CI") == "true":
        pytest.fail("fusion's compiled kernels are not built: `make deps` builds them")
    pytest.skip("fusion's compiled kernels are not built in this source tree")
