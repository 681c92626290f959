"""One imagery source kept current: every ``interval_s`` its catalogue is searched over
the areas of interest, each item made an imagery footprint overlay of the source's
principal (``tessera.codecs.stac``), and what is new, changed or gone journaled as
overlay revisions, which reach the pictures (and their alert rules) like any overlay.

A source that fails (unreachable, not STAC, an error answered) is marked failing with the
reason and tried again at the next interval: nothing a catalogue does stops the server.
Bad items are counted by kind and skipped."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from tessera.codecs.geojson_export import overlay_geometry
from tessera.codecs.stac import (
    ItemFilter,
    StacItemError,
    bbox_geometry,
    imagery_overlay,
    item_footprint,
)
from tessera.core.model import Label, Principal
from tessera.core.overlays import Overlay, OverlayRevision
from tessera.journal.base import JournalClosedError
from tessera.security.policy import submission_refusal
from tessera.security.scoping import label_text
from tessera.store.base import TrackQuery
from tessera.transports.imagery.config import ImagerySource
from tessera.transports.imagery.fetch import Fetched, ImageryFetchError, fetch
from tessera.transports.imagery.status import ImageryStatus
from tessera.transports.source_host import SourceHost

if TYPE_CHECKING:
    from tessera.core.labels import Picture
    from tessera.fusion_worker import FusionWorker
    from tessera.store.base import TrackStore
    from tessera.transports.imagery.status import ImageryBoard


class Imaging(SourceHost, Protocol):
    """What the imagery sources need of a running Tessera (``app.Tessera`` is one)."""

    worker: FusionWorker
    store: TrackStore
    pictures: dict[str, Picture]
    imagery: ImageryBoard


log = logging.getLogger(__name__)


class ImagerySetupError(RuntimeError):
    """The source cannot publish (its principal or label, or no area of interest)."""


class ImageryRunner:
    def __init__(self, tessera: Imaging, source: ImagerySource) -> None:
        self.tessera = tessera
        self.source = source
        self.status = ImageryStatus(source)
        # What this source has on the pictures: overlay id -> the overlay as journaled
        # (read back from the store at the first refresh, so a restart journals nothing
        # that did not change).
        self._published: dict[str, Overlay] | None = None
        self._lock = asyncio.Lock()
        # Set after each refresh, whatever its outcome (cleared by whoever waits on it).
        self.refreshed = asyncio.Event()

    async def run(self) -> None:
        if self.tessera.role == "all":
            # What is on the pictures already is read back first: the replay must be done.
            await self.tessera.worker.wait_until_caught_up()
        while True:
            try:
                await self.refresh()
            except JournalClosedError:
                self.status.state = "stopped"
                return
            await asyncio.sleep(self.source.interval_s)

    async def refresh(self) -> bool:
        """Search once and journal what changed; whether it succeeded (a failure is in
        the status, never raised, but for the journal closing)."""
        try:
            return await self._refresh()
        finally:
            self.refreshed.set()

    async def _refresh(self) -> bool:
        async with self._lock:
            status = self.status
            try:
                principal, label = await self._ready()
                window = self._window()
                fetched = await asyncio.to_thread(fetch, self.source, window)
                await self._publish(fetched, principal, label)
            except JournalClosedError:
                raise
            except (ImageryFetchError, ImagerySetupError) as exc:
                self._failed(str(exc))
                return False
            except Exception as exc:  # whatever a catalogue sends, the source goes on
                log.exception("imagery source %s: refresh failed", self.source.name)
                self._failed(f"{type(exc).__name__}: {exc}")
                return False
            status.succeeded(self.tessera.clock())
            return True

    def _failed(self, error: str) -> None:
        if self.status.last_error != error:
            log.warning("imagery source %s: %s", self.source.name, error)
        self.status.failed(self.tessera.clock(), error)

    async def _ready(self) -> tuple[Principal, Label]:
        tessera, source = self.tessera, self.source
        principal = await tessera.security.principal(source.principal)
        if principal is None or principal.disabled:
            raise ImagerySetupError(f"principal {source.principal!r} does not exist or is disabled")
        label = source.label or principal.default_label
        if label is None:
            raise ImagerySetupError(
                f"no label: give imagery source {source.name!r} a label, or its principal a default"
            )
        if refusal := submission_refusal(principal, label, tessera.scheme):
            raise ImagerySetupError(f"label refused for {source.principal!r}: {refusal}")
        return principal, label

    def _window(self) -> ItemFilter:
        """The areas of interest, and the time from ``lookback_s`` ago to now."""
        source = self.source
        areas: list[Mapping[str, Any]] = []
        for west, south, east, north in source.areas:
            if west <= east:
                areas.append(bbox_geometry((west, south, east, north)))
            else:  # across the antimeridian: its two halves
                areas.append(bbox_geometry((west, south, 180.0, north)))
                areas.append(bbox_geometry((-180.0, south, east, north)))
        missing = []
        for wanted in source.overlays:
            found = self._overlay_named(wanted)
            if found is None:
                missing.append(wanted)
            else:
                areas.append(overlay_geometry(found))
        if missing:
            self.status.problems["area overlay not found"] = len(missing)
        else:
            self.status.problems.pop("area overlay not found", None)
        if not areas:
            raise ImagerySetupError(f"no area of interest: no overlay named {', '.join(missing)}")
        now = self.tessera.clock()
        start = None if source.lookback_s is None else now - timedelta(seconds=source.lookback_s)
        return ItemFilter(areas=tuple(areas), start=start, end=now, collections=source.collections)

    def _overlay_named(self, wanted: str) -> Overlay | None:
        """An area of interest named in the settings: an overlay's id, else its name."""
        store = self.tessera.store
        by_name = None
        for picture in self.tessera.pictures:
            found = store.overlay(picture, wanted)
            if found is not None:
                return found
            if by_name is None:
                _, overlays = store.overlays(picture, TrackQuery())
                by_name = next((o for o in overlays if o.name == wanted), None)
        return by_name

    # -- publishing ----------------------------------------------------------------------

    async def _publish(self, fetched: Fetched, principal: Principal, label: Label) -> None:
        source, status = self.source, self.status
        published = self._known(principal.name)
        current: dict[str, Overlay] = {}
        problems: dict[str, int] = {
            key: count for key, count in status.problems.items() if key.startswith("area ")
        }
        for item in fetched.items:
            try:
                found = item_footprint(item, source=source.name, grading=source.grading)
            except StacItemError as exc:
                reason = str(exc).split(": ", 1)[-1]
                problems[reason] = problems.get(reason, 0) + 1
                continue
            facts = found.imagery
            what = f"imagery/{source.name}/{facts.collection}/{facts.item}/{label_text(label)}"
            overlay_id = "ov-" + self.tessera.ids.revision_id(principal.name, what)
            current[overlay_id] = imagery_overlay(
                found, overlay_id=overlay_id, label=label, author=principal.name
            )
        revisions = [
            self._revision(principal.name, overlay_id, overlay)
            for overlay_id, overlay in current.items()
            if published.get(overlay_id) != overlay
        ]
        new = sum(1 for overlay_id in current if overlay_id not in published)
        # An item not found this time is gone (deleted, or out of the window), unless the
        # search stopped at max_items before it could have been found.
        gone = [] if fetched.truncated else [i for i in published if i not in current]
        revisions += [self._revision(principal.name, overlay_id, None) for overlay_id in gone]
        if revisions:
            await self.tessera.journal.append(revisions)
        for overlay_id in gone:
            published.pop(overlay_id, None)
        published.update(current)
        status.items = len(published)
        status.new_items, status.removed_items = new, len(gone)
        status.truncated = fetched.truncated
        status.problems = problems

    def _known(self, author: str) -> dict[str, Overlay]:
        if self._published is None:
            known: dict[str, Overlay] = {}
            for picture in self.tessera.pictures:
                _, overlays = self.tessera.store.overlays(picture, TrackQuery())
                for overlay in overlays:
                    facts = overlay.imagery
                    mine = facts is not None and facts.source == self.source.name
                    if mine and overlay.author == author:
                        known[overlay.id] = msgspec.structs.replace(overlay, updated_at=None)
            self._published = known
        return self._published

    def _revision(self, author: str, overlay_id: str, overlay: Overlay | None) -> OverlayRevision:
        revision_id = self.tessera.ids.revision_id(author, f"{overlay_id}/{uuid.uuid4().hex}")
        return OverlayRevision(id=revision_id, overlay_id=overlay_id, overlay=overlay, by=author)


class ImagerySources:
    """Every configured imagery source, started with the server and stopped with it."""

    def __init__(self, tessera: Imaging) -> None:
        self.tessera = tessera
        self.runners = [ImageryRunner(tessera, source) for source in tessera.settings.imagery]
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for runner in self.runners:
            self.tessera.imagery.sources[runner.source.name] = runner.status
            name = f"imagery-{runner.source.name}"
            self._tasks.append(asyncio.create_task(runner.run(), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for runner in self.runners:
            runner.status.state = "stopped"


async def start_imagery(tessera: Imaging) -> ImagerySources | None:
    """Start the settings' imagery sources; None if there are none (or this is fusion)."""
    if not tessera.settings.imagery or tessera.role == "fusion":
        return None
    sources = ImagerySources(tessera)
    sources.start()
    return sources
