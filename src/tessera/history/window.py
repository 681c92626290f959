"""A time window of a picture, for after-action review: each track's path (its positions
at the journal times the picture changed them) from the window's start to its end, and
its latest state in the window. The picture at the start is a seek; the rest is the
journal replayed, exactly as the live picture changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from tessera.core.labels import Picture
from tessera.core.model import Track
from tessera.history.replay import PastPicture
from tessera.history.seek import History
from tessera.store.base import TrackQuery

# A window's points at most (each a time and a position): past that, a shorter window.
MAX_POINTS: Final = 1_000_000


class WindowTooLargeError(ValueError):
    pass


@dataclass
class TrackPoint:
    at: datetime
    lon: float
    lat: float
    alt: float | None


@dataclass
class TrackPath:
    track: Track
    points: list[TrackPoint] = field(default_factory=list)
    # When it left the picture within the window (None: still there at the end).
    ended: datetime | None = None
    # When the picture last changed it (its state then is ``track``).
    latest_at: datetime | None = None

    @property
    def begin(self) -> datetime:
        return self.points[0].at

    @property
    def end(self) -> datetime:
        return self.ended or self.points[-1].at


class _Collector:
    def __init__(self, past: PastPicture, every_s: float) -> None:
        self._past = past
        self._every = every_s
        self.paths: dict[str, TrackPath] = {}
        # Paths of tracks that left the picture and came back under the same id.
        self.earlier: list[TrackPath] = []
        self.count = 0

    def add(self, track: Track, at: datetime) -> None:
        path = self.paths.get(track.id)
        if path is not None and path.ended is not None:
            self.earlier.append(path)
            path = None
        if path is None:
            path = self.paths[track.id] = TrackPath(track)
        path.track = track
        path.latest_at = at
        if path.points and (at - path.points[-1].at).total_seconds() < self._every:
            return
        position = track.position
        path.points.append(TrackPoint(at, position.lon, position.lat, position.alt))
        self.count += 1
        if self.count > MAX_POINTS:
            raise WindowTooLargeError(
                f"the window holds more than {MAX_POINTS:,} track positions: ask a shorter one"
            )

    def after_apply(self) -> None:
        at = self._past.worker.time
        assert at is not None
        for change in self._past.take_changes():
            if change.kind != "track":
                continue
            if change.track is not None:
                self.add(change.track, at)
            elif (path := self.paths.get(change.item_id)) is not None and path.ended is None:
                path.ended = at


async def track_window(
    history: History, picture: Picture, start: datetime, end: datetime, *, every_s: float = 5.0
) -> list[TrackPath]:
    """Every track of ``picture`` between ``start`` and ``end``, a point at most every
    ``every_s`` seconds of journal time per track (and its last state at the end)."""
    paths, _ = await window_and_end(history, picture, start, end, every_s=every_s)
    return paths


async def window_and_end(
    history: History, picture: Picture, start: datetime, end: datetime, *, every_s: float = 5.0
) -> tuple[list[TrackPath], PastPicture]:
    """``track_window``'s paths, and the picture as it was at ``end``."""
    past = await history.seek(picture, start)
    past.take_changes()
    collector = _Collector(past, every_s)
    for track in past.tracks(TrackQuery()):
        collector.add(track, start)
    past.worker.on_applied.append(collector.after_apply)
    await past.advance_to(end)
    paths = [*collector.earlier, *collector.paths.values()]
    for path in paths:
        # The last state in the window, wherever the thinning left the path.
        latest = path.latest_at
        if latest is not None and path.points[-1].at != latest:
            position = path.track.position
            path.points.append(TrackPoint(latest, position.lon, position.lat, position.alt))
    past.worker.on_applied.remove(collector.after_apply)
    return sorted(paths, key=lambda path: (path.begin, path.track.id)), past
