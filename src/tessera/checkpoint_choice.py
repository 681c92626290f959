"""Which fusion checkpoints a Tessera keeps (called by ``app.build``): in the data folder
on the embedded default, in PostGIS with it (and the journal's cursor on JetStream); and
the connection a fusion worker writes PostGIS through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from tessera.core.fusion.engine import FusionSettings
from tessera.settings import Settings

if TYPE_CHECKING:
    from tessera.checkpointing import Checkpointer
    from tessera.fusion_worker import FusionWorker
    from tessera.journal.base import Journal
    from tessera.store.base import TrackStore
    from tessera.trimming import JournalTrimmer


class Checkpointed(Protocol):
    """What the checkpoints need of a running Tessera (``app.Tessera`` is one)."""

    worker: FusionWorker
    store: TrackStore
    journal: Journal
    clock: Callable[[], datetime]
    trimmer: JournalTrimmer | None


def embedded_checkpointer(
    settings: Settings, tessera: Checkpointed, fusion_settings: FusionSettings
) -> Checkpointer:
    """Checkpoints in the data folder: a restart replays only the journal's tail."""
    from tessera.checkpointing import Checkpointer
    from tessera.store.sqlite_checkpoints import SqliteCheckpoints, checkpoint_path

    return Checkpointer(
        worker=tessera.worker,
        store=tessera.store,
        checkpoints=SqliteCheckpoints(checkpoint_path(settings.data_dir)),
        pictures=settings.pictures,
        scheme=settings.scheme,
        settings=fusion_settings,
        interval_s=settings.checkpoint_interval_s,
        journal=tessera.journal,
        # The memory store starts empty: the checkpoint refills it.
        store_outlives_process=False,
        on_saved=_trimming(tessera),
        clock=tessera.clock,
    )


def postgis_checkpointer(
    settings: Settings, tessera: Checkpointed, fusion_settings: FusionSettings
) -> Checkpointer:
    from tessera.checkpointing import Checkpointer
    from tessera.journal.jetstream import JetStreamJournal
    from tessera.store.checkpoints import PostgisCheckpoints

    assert settings.postgis_dsn is not None
    cursor = tessera.journal if isinstance(tessera.journal, JetStreamJournal) else None
    return Checkpointer(
        worker=tessera.worker,
        store=tessera.store,
        checkpoints=PostgisCheckpoints(writer_dsn(settings)),
        pictures=settings.pictures,
        scheme=settings.scheme,
        settings=fusion_settings,
        interval_s=settings.checkpoint_interval_s,
        cursor=cursor,
        journal=tessera.journal,
        on_saved=_trimming(tessera),
    )


def _trimming(tessera: Checkpointed) -> Callable[[int], Awaitable[None]] | None:
    """What runs after each saved checkpoint: the journal's trim, if it drops anything."""
    return None if tessera.trimmer is None else tessera.trimmer.after_checkpoint


def writer_dsn(settings: Settings) -> str:
    """The DSN a process's own writes go through: a fusion worker's sessions end any
    statement or idle transaction within half a lease (``postgis.fencing``)."""
    assert settings.postgis_dsn is not None
    if settings.role != "fusion":
        return settings.postgis_dsn
    from tessera.postgis.fencing import worker_dsn

    return worker_dsn(settings.postgis_dsn, settings.lease_ttl_s)
