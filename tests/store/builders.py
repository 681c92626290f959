"""Tracks, overlays and stores for the store tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from tessera.core.model import (
    UNGRADED,
    Grading,
    Identity,
    Label,
    Position,
    Source,
    SourceKind,
    Track,
    TrackStatus,
    Velocity,
)
from tessera.core.overlays import Overlay, OverlayKind
from tessera.store.base import TrackQuery, TrackStore
from tessera.store.postgis import PostgisTrackStore

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
UNCLASSIFIED = Label("UNCLASSIFIED")
SIDC = "10031000001211000000"
EVERYTHING = TrackQuery()


def track(track_id: str, lat: float = 50.0, lon: float = 10.0, **fields: Any) -> Track:
    values: dict[str, Any] = {
        "id": track_id,
        "position": Position(lat, lon),
        "velocity": None,
        "identity": Identity.UNKNOWN,
        "identity_confidence": 0.5,
        "sidc": SIDC,
        "status": TrackStatus.CONFIRMED,
        "first_at": START,
        "updated_at": START,
        "subject": None,
        "quantity": None,
        "grading": UNGRADED,
        "label": UNCLASSIFIED,
        "sources": (),
        "lineage": (),
        "report_count": 1,
    }
    return Track(**(values | fields))


def full_track(track_id: str, lat: float = 48.137154, lon: float = 11.576124) -> Track:
    """A track with every field set, with values that are easy to get subtly wrong."""
    return track(
        track_id,
        position=Position(lat, lon, alt=512.25, ce=12.5),
        velocity=Velocity(course=359.999, speed=0.1),
        identity=Identity.ASSUMED_FRIEND,
        identity_confidence=0.1 + 0.2,
        status=TrackStatus.COASTING,
        first_at=START + timedelta(microseconds=1),
        updated_at=START + timedelta(seconds=90, microseconds=123_456),
        subject="convoy-7",
        quantity=12,
        grading=Grading("B", 2),
        label=Label("SECRET", ("NATO", "UKR")),
        sources=(Source("uav-17", SourceKind.UAV), Source("obs.north", SourceKind.HUMAN)),
        lineage=("r-1", "r-2", "r-3"),
        report_count=1_000_001,
    )


def overlay(
    overlay_id: str, kind: OverlayKind, coordinates: Sequence[Sequence[float]], **fields: Any
) -> Overlay:
    values: dict[str, Any] = {
        "id": overlay_id,
        "name": overlay_id.upper(),
        "kind": kind,
        "coordinates": tuple(tuple(point) for point in coordinates),
        "label": UNCLASSIFIED,
    }
    return Overlay(**(values | fields))


def point(overlay_id: str, lon: float, lat: float, **fields: Any) -> Overlay:
    return overlay(overlay_id, OverlayKind.POINT, [(lon, lat)], **fields)


def square(overlay_id: str, lon: float, lat: float, half: float = 0.5) -> Overlay:
    """An area ``2 * half`` degrees on a side, centred on (lon, lat)."""
    w, e, s, n = lon - half, lon + half, lat - half, lat + half
    return overlay(overlay_id, OverlayKind.AREA, [(w, s), (e, s), (e, n), (w, n), (w, s)])


def every_kind_of_overlay() -> list[Overlay]:
    return [
        overlay("poi", OverlayKind.POINT, [(30.5234, 50.4501, 179.5)]),
        overlay("route", OverlayKind.LINE, [(24.0, 49.8), (30.5, 50.4, 120.0), (36.2, 49.9)]),
        square("zone", 25.0, 48.0),
        overlay(
            "ring",
            OverlayKind.CIRCLE,
            [(14.5, 46.0)],
            radius_m=2_500.5,
            sidc="10032500001305000000",
            remarks="line one\nline two",
            valid_from=START,
            valid_to=START + timedelta(hours=6),
            label=Label("RESTRICTED", ("NATO",)),
            author="nato-officer",
            updated_at=START + timedelta(minutes=3),
        ),
        overlay("lane", OverlayKind.CORRIDOR, [(10.0, 54.0), (11.0, 54.5)], width_m=800.0),
    ]


def picture_state(store: TrackStore, picture: str) -> tuple[int, list[Track], list[Overlay]]:
    """The picture's seq, tracks and overlays, each list by id."""
    seq, tracks = store.tracks(picture, EVERYTHING)
    seq_too, overlays = store.overlays(picture, EVERYTHING)
    assert seq == seq_too == store.seq(picture)
    by_id = sorted(tracks, key=lambda t: t.id), sorted(overlays, key=lambda o: o.id)
    return seq, *by_id


@asynccontextmanager
async def opened(
    dsn: str, pictures: Sequence[str], *, writer: bool, **options: Any
) -> AsyncIterator[PostgisTrackStore]:
    settings: dict[str, Any] = {"retry_initial_s": 0.01, "retry_max_s": 0.1} | options
    store = PostgisTrackStore(dsn, pictures, writer=writer, **settings)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
