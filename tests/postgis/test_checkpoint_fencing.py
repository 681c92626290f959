"""A fusion worker's checkpoints and its journal cursor under its fence (DESIGN §10): saved
and acknowledged only while the lease holds; never once a successor has taken over."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tessera.bus.memory import MemoryBus
from tessera.checkpointing import Checkpointer
from tessera.cluster.fence import Fence
from tessera.core.fusion.engine import FusionSettings, KalmanTracker
from tessera.core.labels import DEFAULT_PICTURE
from tessera.fusion_worker import FusionWorker
from tessera.journal.sqlite import SqliteJournal
from tessera.postgis.fencing import raise_fence
from tessera.settings import Settings
from tessera.store.checkpoints import PostgisCheckpoints
from tessera.store.postgis import PostgisStoreError, PostgisTrackStore
from tests.postgis.test_report_archive import START, report, sql

COP = DEFAULT_PICTURE.name


class RecordingCursor:
    def __init__(self) -> None:
        self.acknowledged: list[int] = []

    @property
    def cursor_position(self) -> int | None:
        return self.acknowledged[-1] if self.acknowledged else None

    async def acknowledge(self, position: int) -> int:
        self.acknowledged.append(position)
        return position


def test_checkpoints_and_acknowledgements_only_while_the_fence_holds(
    migrated: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        settings = Settings()
        fusion = FusionSettings(lineage_window=10, batch_seconds=settings.fusion_batch_s)
        journal = SqliteJournal(tmp_path / "journal.sqlite3", clock=lambda: START)
        await journal.open()
        store = PostgisTrackStore(migrated, [COP], writer=True)
        await store.open()
        try:
            worker = FusionWorker(
                journal=journal,
                store=store,
                bus=MemoryBus([COP], retained=10),
                pictures=(DEFAULT_PICTURE,),
                scheme=settings.scheme,
                tracker_factory=lambda _p: KalmanTracker(settings.scheme, fusion),
            )
            cursor = RecordingCursor()
            checkpointer = Checkpointer(
                worker=worker,
                store=store,
                checkpoints=PostgisCheckpoints(migrated),
                pictures=(DEFAULT_PICTURE,),
                scheme=settings.scheme,
                settings=fusion,
                interval_s=3600,
                cursor=cursor,
            )
            holding = False
            fence = Fence({COP: 5}, lambda: holding)
            await raise_fence(migrated, fence, 1.0)
            store.fence = fence
            checkpointer.fence_writes(fence)
            await journal.append([report("a", 53.0, 18.0)])
            await worker.catch_up()
            # The lease in doubt (a renewal late): no checkpoint, no acknowledgement.
            await checkpointer.save()
            assert sql(migrated, "SELECT count(*) FROM fusion_checkpoints") == [(0,)]
            assert cursor.acknowledged == []
            holding = True
            await checkpointer.save()
            assert sql(migrated, "SELECT journal_seq, epoch FROM fusion_checkpoints") == [(1, 5)]
            assert cursor.acknowledged == [1]
            # A successor takes over: the next save is refused, nothing acknowledged.
            await raise_fence(migrated, Fence({COP: 9}), 1.0)
            await journal.append([report("b", 53.1, 18.0)])
            await worker.catch_up()
            with pytest.raises(PostgisStoreError):
                await checkpointer.save()
            assert fence.deposed.is_set()
            await checkpointer.save()  # deposed: nothing more, not even an attempt
            assert sql(migrated, "SELECT journal_seq, epoch FROM fusion_checkpoints") == [(1, 5)]
            assert cursor.acknowledged == [1]
        finally:
            await store.close(timeout=5)
            await journal.close()

    asyncio.run(scenario())
