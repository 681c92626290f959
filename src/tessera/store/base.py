"""The store: each picture's current tracks and overlays, and the queries the API runs over
them."""

from __future__ import annotations

import abc
from collections.abc import Sequence

import msgspec

from tessera.core.model import Identity, Track, TrackStatus
from tessera.core.overlays import Overlay
from tessera.store.overlay_shapes import ShapeMemo, meets, overlay_shape, query_boxes


class TrackQuery(msgspec.Struct, frozen=True, kw_only=True):
    """A filter over tracks; ``None`` means no constraint. ``bbox`` is (west, south,
    east, north) in degrees; west > east crosses the antimeridian."""

    bbox: tuple[float, float, float, float] | None = None
    identities: frozenset[Identity] | None = None
    statuses: frozenset[TrackStatus] | None = None

    def matches(self, track: Track) -> bool:
        if self.identities is not None and track.identity not in self.identities:
            return False
        if self.statuses is not None and track.status not in self.statuses:
            return False
        if self.bbox is not None:
            west, south, east, north = self.bbox
            lat, lon = track.position.lat, track.position.lon
            if not south <= lat <= north:
                return False
            inside_lon = west <= lon <= east if west <= east else lon >= west or lon <= east
            if not inside_lon:
                return False
        return True

    def matches_overlay(self, overlay: Overlay, shapes: ShapeMemo | None = None) -> bool:
        """Overlays answer to ``bbox`` alone (identity and status are tracks'): the box
        must meet the overlay's shape itself, not its bounding box, as PostGIS answers
        (overlay_shapes). ``shapes`` keeps the shapes drawn for other queries."""
        if self.bbox is None:
            return True
        shape = overlay_shape(overlay) if shapes is None else shapes.shape(overlay)
        return meets(shape, query_boxes(self.bbox))


class TrackStore(abc.ABC):
    """Reads are synchronous (an implementation keeps what it serves in memory); a store
    backed by a database connects in ``open`` and writes what is queued in ``close``."""

    async def open(self) -> None:  # noqa: B027 - optional: the embedded store has nothing
        """Connect, and load what the store already holds."""

    async def close(self, timeout: float | None = None) -> None:  # noqa: B027
        """Write what is queued (waiting at most ``timeout`` seconds), then disconnect."""

    async def flush(self, timeout: float | None = None) -> None:  # noqa: B027 - optional
        """Wait until every change recorded so far is written (nothing to wait for in a
        store that writes nothing)."""

    def mark_journal(self, seq: int) -> None:  # noqa: B027 - optional, as above
        """What is recorded so far covers the journal up to ``seq``."""

    async def with_lineage(self, picture: str, track_id: str) -> Track | None:
        """The track with its whole lineage window (a store may keep its copies in memory
        without it, and look it up where it is written)."""
        return self.track(picture, track_id)

    @abc.abstractmethod
    def apply(
        self, picture: str, seq: int, updated: Sequence[Track], removed: Sequence[str]
    ) -> None:
        """Record a step of a picture's fusion; ``seq`` is the picture's last change seq."""

    @abc.abstractmethod
    def tracks(self, picture: str, query: TrackQuery) -> tuple[int, list[Track]]:
        """The picture's change seq and its tracks matching ``query``."""

    @abc.abstractmethod
    def track(self, picture: str, track_id: str) -> Track | None: ...

    @abc.abstractmethod
    def seq(self, picture: str) -> int: ...

    @abc.abstractmethod
    def apply_overlays(
        self, picture: str, seq: int, updated: Sequence[Overlay], removed: Sequence[str]
    ) -> None:
        """Record overlays entering, changing in or leaving a picture; tracks and overlays
        share the picture's change seq."""

    @abc.abstractmethod
    def overlays(self, picture: str, query: TrackQuery) -> tuple[int, list[Overlay]]:
        """The picture's change seq and its overlays within ``query``'s bounding box."""

    @abc.abstractmethod
    def overlay(self, picture: str, overlay_id: str) -> Overlay | None: ...
