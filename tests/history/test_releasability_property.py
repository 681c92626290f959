"""Property: whatever the labels of what was reported, a picture's past holds only tracks
built from reports its rule admits (DESIGN §3), at any time a seek asks for, from a
snapshot or from the journal's start."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.bus.memory import MemoryBus
from tessera.checkpointing import fingerprint
from tessera.core.fusion.engine import FusionSettings, KalmanTracker
from tessera.core.labels import DEFAULT_LEVELS, AdmissionRule, ClassificationScheme, Picture
from tessera.core.labels import admits as admits_label
from tessera.core.model import Identity, Label, Position, Report, Source, SourceKind
from tessera.fusion_worker import FusionWorker
from tessera.history.seek import History
from tessera.history.snapshotter import Snapshotter
from tessera.history.sqlite import SqliteSnapshots
from tessera.journal.sqlite import SqliteJournal
from tessera.store.base import TrackQuery
from tessera.store.memory import MemoryTrackStore

SCHEME = ClassificationScheme(DEFAULT_LEVELS)
PICTURES = [
    Picture(name="NATO", rule=AdmissionRule(releasable_to="NATO")),
    Picture(name="UKR", rule=AdmissionRule(max_classification="CONFIDENTIAL", releasable_to="UKR")),
]
LABELS = [
    Label("SECRET", ("NATO",)),
    Label("RESTRICTED", ("UKR",)),
    Label("RESTRICTED", ("NATO", "UKR")),
    Label("SECRET", ("NATO", "UKR")),
]
START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


async def check(labels: list[int], places: list[int], seeks: list[float]) -> None:
    fusion = FusionSettings()
    fingerprints = {p.name: fingerprint(p, fusion, SCHEME.levels) for p in PICTURES}
    with tempfile.TemporaryDirectory() as folder:
        clock = Clock()
        journal = SqliteJournal(Path(folder) / "journal.sqlite3", clock=clock, tick_interval=3600)
        snapshots = SqliteSnapshots(Path(folder) / "history.sqlite3")
        await journal.open()
        await snapshots.open()
        try:
            by_id: dict[str, Report] = {}
            for index, (label, place) in enumerate(zip(labels, places, strict=False)):
                clock.now = START + timedelta(seconds=index)
                report = Report(
                    id=f"r{index}",
                    source=Source(f"uav-{index % 3}", SourceKind.UAV),
                    observed_at=clock.now,
                    position=Position(53 + place * 0.001, 18.0, ce=30.0),
                    identity=Identity.HOSTILE,
                    label=LABELS[label],
                )
                by_id[report.id] = report
                await journal.append([report])
            names = [p.name for p in PICTURES]
            store = MemoryTrackStore(names)
            worker = FusionWorker(
                journal=journal,
                store=store,
                bus=MemoryBus(names, retained=100),
                pictures=PICTURES,
                scheme=SCHEME,
                tracker_factory=lambda _p: KalmanTracker(SCHEME, fusion),
                chunk=3,
            )
            snapshotter = Snapshotter(
                worker=worker,
                store=store,
                snapshots=snapshots,
                journal=journal,
                fingerprints=fingerprints,
                interval_s=2.0,
            )
            snapshotter.attach()
            await worker.catch_up()
            await snapshotter.write_queued()
            assert await snapshots.count("NATO") >= 1
            history = History(
                journal=journal,
                snapshots=snapshots,
                scheme=SCHEME,
                settings=fusion,
                fingerprints=fingerprints,
            )
            for picture in PICTURES:
                for offset in seeks:
                    past = await history.seek(picture, START + timedelta(seconds=offset))
                    for track in past.tracks(TrackQuery()):
                        assert admits_label(picture, track.label, SCHEME)
                        for report_id in track.lineage:
                            assert admits_label(picture, by_id[report_id].label, SCHEME)
        finally:
            await snapshots.close()
            await journal.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    labels=st.lists(st.integers(0, len(LABELS) - 1), min_size=1, max_size=25),
    places=st.lists(st.integers(0, 5), min_size=25, max_size=25),
    seeks=st.lists(st.floats(-1, 30), min_size=1, max_size=4),
)
def test_the_past_of_a_picture_holds_only_what_its_rule_admits(
    labels: list[int], places: list[int], seeks: list[float]
) -> None:
    asyncio.run(check(labels, places, seeks))
