"""What a collection holds: a picture's tracks, its overlays or its imagery footprints
(overlays standing for images), each with the GeoJSON
Feature it is served as and the place, time and heights the items filters look at.

Features come from the same writers as the REST API and the exports, so every egress
shows the same properties; the analyst's properties OGC clients filter on are added.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import shapely

from tessera.codecs.geojson import track_feature
from tessera.codecs.geojson_export import overlay_feature
from tessera.core.model import Track, TrackStatus
from tessera.core.overlays import Overlay
from tessera.store.base import TrackQuery, TrackStore
from tessera.store.overlay_shapes import overlay_shape
from tessera.transports.web.ogc.params import BBox, ItemsQuery, Period, Range
from tessera.transports.web.params import LIVE_STATUSES


class Kind(enum.StrEnum):
    TRACKS = "tracks"
    OVERLAYS = "overlays"  # every overlay but imagery footprints
    IMAGERY = "imagery"  # imagery footprints (tessera.core.imagery), a collection of their own


@dataclass(frozen=True)
class Entry:
    """One feature of a collection. ``boxes``: the bounds of its shape's parts (two for a
    shape split at the antimeridian). ``period`` and ``heights`` are ``None`` where it has
    no time or no height: filters on those then keep it (/req/core/fc-time-response C)."""

    id: str
    boxes: tuple[BBox, ...]
    period: Period | None
    heights: Range | None
    feature: Callable[[], dict[str, Any]]

    def matches(self, query: ItemsQuery) -> bool:
        period = query.period
        if period is not None and self.period is not None and not period.overlaps(self.period):
            return False
        if query.heights is not None and self.heights is not None:
            low, high = query.heights
            if self.heights[1] < low or self.heights[0] > high:
                return False
        return True


def entries(
    store: TrackStore,
    picture: str,
    kind: Kind,
    bbox: BBox | None,
    statuses: frozenset[TrackStatus] = LIVE_STATUSES,
) -> list[Entry]:
    """The collection's features within ``bbox`` (the store filters), tracks only of
    ``statuses`` (by default not the dead: no longer part of the picture), sorted by id so
    pages are stable."""
    query = TrackQuery(bbox=bbox, statuses=statuses)
    if kind is Kind.TRACKS:
        found = [track_entry(track) for track in store.tracks(picture, query)[1]]
    else:
        overlays = store.overlays(picture, query)[1]
        found = [overlay_entry(o) for o in overlays if _kind_of(o) is kind]
    return sorted(found, key=lambda entry: entry.id)


def _kind_of(overlay: Overlay) -> Kind:
    return Kind.OVERLAYS if overlay.imagery is None else Kind.IMAGERY


def entry(store: TrackStore, picture: str, kind: Kind, feature_id: str) -> Entry | None:
    if kind is Kind.TRACKS:
        track = store.track(picture, feature_id)
        return None if track is None else track_entry(track)
    overlay = store.overlay(picture, feature_id)
    return None if overlay is None or _kind_of(overlay) is not kind else overlay_entry(overlay)


def track_entry(track: Track) -> Entry:
    position = track.position
    alt = position.alt
    return Entry(
        id=track.id,
        boxes=((position.lon, position.lat, position.lon, position.lat),),
        period=Period(track.updated_at, track.updated_at),
        heights=None if alt is None else (alt, alt),
        feature=partial(track_item, track),
    )


def overlay_entry(overlay: Overlay) -> Entry:
    heights = [point[2] for point in overlay.coordinates if len(point) > 2]
    imagery = overlay.imagery
    return Entry(
        id=overlay.id,
        boxes=shape_boxes(overlay),
        # An image's time is when it was taken.
        period=overlay_period(overlay)
        if imagery is None
        else Period(imagery.acquired_at, imagery.acquired_until or imagery.acquired_at),
        heights=(min(heights), max(heights)) if heights else None,
        feature=partial(overlay_feature if imagery is None else imagery_item, overlay),
    )


def imagery_item(overlay: Overlay) -> dict[str, Any]:
    """The REST API's Feature, plus the image's facts as flat properties (an OGC client
    filters and styles on flat values; the assets stay a list)."""
    feature = overlay_feature(overlay)
    properties = feature["properties"]
    properties.update(properties.pop("imagery"))
    return feature


def shape_boxes(overlay: Overlay) -> tuple[BBox, ...]:
    """The exact bounds of each part of the overlay's shape, as the stores keep it."""
    return tuple(_bounds(part) for part in overlay_shape(overlay))


def _bounds(part: shapely.Geometry) -> BBox:
    west, south, east, north = (float(value) for value in shapely.bounds(part))
    return west, south, east, north


def overlay_period(overlay: Overlay) -> Period | None:
    """Its validity if it has one, else when it was last changed, else no time at all."""
    if overlay.valid_from is not None or overlay.valid_to is not None:
        return Period(overlay.valid_from, overlay.valid_to)
    if overlay.updated_at is not None:
        return Period(overlay.updated_at, overlay.updated_at)
    return None


def track_item(track: Track) -> dict[str, Any]:
    """The REST API's Feature, plus the grading's two halves and the lineage's size as
    flat properties (an OGC client filters and styles on flat values)."""
    feature = track_feature(track)
    feature["properties"].update(
        {
            "reliability": track.grading.reliability,
            "credibility": track.grading.credibility,
            "lineage_size": track.report_count,
        }
    )
    return feature
