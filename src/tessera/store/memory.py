"""The embedded store: each picture's current tracks and overlays in memory, rebuilt from
the journal."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tessera.core.model import Track
from tessera.core.overlays import Overlay
from tessera.store.base import TrackQuery, TrackStore
from tessera.store.overlay_shapes import OverlayShape, meets, overlay_shape, query_boxes


class MemoryTrackStore(TrackStore):
    def __init__(self, pictures: Iterable[str]) -> None:
        self._tracks: dict[str, dict[str, Track]] = {name: {} for name in pictures}
        self._overlays: dict[str, dict[str, Overlay]] = {name: {} for name in self._tracks}
        self._seq: dict[str, int] = dict.fromkeys(self._tracks, 0)
        # Each overlay's shape, made when a box first asks for it (a circle's is drawn).
        self._shapes: dict[str, dict[str, OverlayShape]] = {name: {} for name in self._tracks}

    def apply(
        self, picture: str, seq: int, updated: Sequence[Track], removed: Sequence[str]
    ) -> None:
        tracks = self._tracks[picture]
        for track in updated:
            tracks[track.id] = track
        for track_id in removed:
            tracks.pop(track_id, None)
        self._seq[picture] = seq

    def tracks(self, picture: str, query: TrackQuery) -> tuple[int, list[Track]]:
        tracks = self._tracks[picture]
        return self._seq[picture], [track for track in tracks.values() if query.matches(track)]

    def track(self, picture: str, track_id: str) -> Track | None:
        return self._tracks[picture].get(track_id)

    def seq(self, picture: str) -> int:
        return self._seq[picture]

    def apply_overlays(
        self, picture: str, seq: int, updated: Sequence[Overlay], removed: Sequence[str]
    ) -> None:
        overlays, shapes = self._overlays[picture], self._shapes[picture]
        for overlay in updated:
            overlays[overlay.id] = overlay
            shapes.pop(overlay.id, None)
        for overlay_id in removed:
            overlays.pop(overlay_id, None)
            shapes.pop(overlay_id, None)
        self._seq[picture] = seq

    def overlays(self, picture: str, query: TrackQuery) -> tuple[int, list[Overlay]]:
        overlays = self._overlays[picture]
        if query.bbox is None:
            return self._seq[picture], list(overlays.values())
        boxes, shapes = query_boxes(query.bbox), self._shapes[picture]
        found: list[Overlay] = []
        for overlay_id, overlay in overlays.items():
            shape = shapes.get(overlay_id)
            if shape is None:
                shape = shapes[overlay_id] = overlay_shape(overlay)
            if meets(shape, boxes):
                found.append(overlay)
        return self._seq[picture], found

    def overlay(self, picture: str, overlay_id: str) -> Overlay | None:
        return self._overlays[picture].get(overlay_id)
