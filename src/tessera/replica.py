"""A gateway's copy of the pictures, kept current from the change feed (DESIGN §5).

A gateway does not fuse: its store was loaded from PostGIS when it opened, at each
picture's stored seq, and from there every change the fusion worker publishes is applied
to it, so the REST API, the stream's snapshots, the OGC API and the exports read a
picture at most a change feed's latency behind the worker's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from tessera.bus.base import Change, ChangeBus, Subscriber
from tessera.core.model import Track
from tessera.core.overlays import Overlay
from tessera.store.base import TrackQuery, TrackStore

log = logging.getLogger(__name__)


class PictureReplica:
    def __init__(self, bus: ChangeBus, store: TrackStore, pictures: Sequence[str]) -> None:
        self._bus = bus
        self._store = store
        self._pictures = list(pictures)

    async def run(self) -> None:
        """Follow every picture until cancelled."""
        async with asyncio.TaskGroup() as group:
            for picture in self._pictures:
                group.create_task(self._follow(picture), name=f"replica-{picture}")

    async def _follow(self, picture: str) -> None:
        subscriber = Subscriber(TrackQuery(), visible=None)
        since = self._store.seq(picture)
        if not self._bus.attach(picture, subscriber, since) and since < self._bus.last_seq(picture):
            # The feed no longer holds what came after the stored picture: what is missed
            # arrives with the next change of each item.
            log.warning(
                "picture %s: the change feed starts after the stored seq %d", picture, since
            )
        try:
            while True:
                self.apply(picture, await subscriber.take())
        finally:
            self._bus.detach(picture, subscriber)

    def apply(self, picture: str, changes: Sequence[Change]) -> None:
        changes = [change for change in changes if change.seq > self._store.seq(picture)]
        if not changes:
            return
        seq = changes[-1].seq
        tracks: list[Track] = []
        removed: list[str] = []
        overlays: list[Overlay] = []
        gone: list[str] = []
        for change in changes:
            if change.kind == "overlay":
                if change.overlay is None:
                    gone.append(change.item_id)
                else:
                    overlays.append(change.overlay)
            elif change.track is None:
                removed.append(change.item_id)
            else:
                tracks.append(change.track)
        self._store.apply(picture, seq, tracks, removed)
        self._store.apply_overlays(picture, seq, overlays, gone)
