"""The embedded store: each picture's current tracks and overlays in memory, rebuilt from
the journal."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tessera.core.model import Track
from tessera.core.overlays import Overlay
from tessera.store.base import TrackQuery, TrackStore


class MemoryTrackStore(TrackStore):
    def __init__(self, pictures: Iterable[str]) -> None:
        self._tracks: dict[str, dict[str, Track]] = {name: {} for name in pictures}
        self._overlays: dict[str, dict[str, Overlay]] = {name: {} for name in self._tracks}
        self._seq: dict[str, int] = dict.fromkeys(self._tracks, 0)

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
        overlays = self._overlays[picture]
        for overlay in updated:
            overlays[overlay.id] = overlay
        for overlay_id in removed:
            overlays.pop(overlay_id, None)
        self._seq[picture] = seq

    def overlays(self, picture: str, query: TrackQuery) -> tuple[int, list[Overlay]]:
        overlays = self._overlays[picture].values()
        return self._seq[picture], [o for o in overlays if query.matches_overlay(o)]

    def overlay(self, picture: str, overlay_id: str) -> Overlay | None:
        return self._overlays[picture].get(overlay_id)
