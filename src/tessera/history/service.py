"""History in a running Tessera: the snapshot store of its deployment (the data folder's
SQLite file, or PostGIS), seeks, and the snapshotter where fusion runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, Protocol

from tessera.checkpointing import fingerprint
from tessera.core.fusion.engine import FusionSettings
from tessera.core.labels import Picture
from tessera.history.base import SnapshotStore
from tessera.history.seek import History
from tessera.history.snapshotter import Snapshotter
from tessera.settings import Settings

if TYPE_CHECKING:
    from tessera.fusion_worker import FusionWorker
    from tessera.journal.base import Journal
    from tessera.store.base import TrackStore


class Historied(Protocol):
    """What the history needs of a running Tessera (``app.Tessera`` is one)."""

    journal: Journal
    worker: FusionWorker
    store: TrackStore


class HistoryService:
    def __init__(self, history: History, snapshotter: Snapshotter | None) -> None:
        self.history = history
        self.snapshotter = snapshotter
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open the snapshot store; take snapshots from here on (before fusion starts)."""
        await self.history.snapshots.open()
        if self.snapshotter is not None:
            self.snapshotter.attach()
            self._task = asyncio.create_task(self.snapshotter.run(), name="history-snapshots")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.snapshotter is not None:
            with contextlib.suppress(Exception):
                await self.snapshotter.write_queued()
        await self.history.snapshots.close()


# Snapshots are kept compressed: those kept before, under the bare fingerprint, are not used.
SNAPSHOT_FORMAT: Final = "zlib"


def history_fingerprint(
    picture: Picture, fusion_settings: FusionSettings, levels: Sequence[str]
) -> str:
    """The configuration a snapshot is taken under (the checkpoints' and the format)."""
    return f"{fingerprint(picture, fusion_settings, levels)}+{SNAPSHOT_FORMAT}"


def snapshot_store_for(settings: Settings) -> SnapshotStore:
    if settings.postgis_dsn is None:
        from tessera.history.sqlite import SqliteSnapshots, history_path

        return SqliteSnapshots(history_path(settings.data_dir))
    from tessera.checkpoint_choice import writer_dsn
    from tessera.history.postgis import PostgisSnapshots

    return PostgisSnapshots(writer_dsn(settings))


def history_for(
    settings: Settings, tessera: Historied, fusion_settings: FusionSettings
) -> HistoryService:
    scheme = settings.scheme
    fingerprints = {
        picture.name: history_fingerprint(picture, fusion_settings, scheme.levels)
        for picture in settings.pictures
    }
    snapshots = snapshot_store_for(settings)
    history = History(
        journal=tessera.journal,
        snapshots=snapshots,
        scheme=scheme,
        settings=fusion_settings,
        fingerprints=fingerprints,
    )
    snapshotter = None
    if settings.role != "gateway":
        snapshotter = Snapshotter(
            worker=tessera.worker,
            store=tessera.store,
            snapshots=snapshots,
            journal=tessera.journal,
            fingerprints=fingerprints,
            interval_s=settings.history_snapshot_interval_s,
            max_entries=settings.history_snapshot_entries,
        )
    return HistoryService(history, snapshotter)
