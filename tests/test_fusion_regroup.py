"""Pictures regrouped between fusion workers: each picture's saved state covers its own
journal position, and a worker restoring several at different positions takes each one's
journal from where that one stopped. Every picture then equals a full replay's: nothing
lost, nothing applied twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tessera.bus.memory import MemoryBus
from tessera.codecs.geojson import track_feature
from tessera.codecs.json import encode
from tessera.core.fusion.base import Tracker
from tessera.core.fusion.checkpoint import decode_tracker, encode_tracker
from tessera.core.fusion.engine import FusionSettings, KalmanTracker
from tessera.core.labels import AdmissionRule, ClassificationScheme, Picture
from tessera.core.model import Label, Position, Report, Source, SourceKind
from tessera.fusion_worker import FusionWorker
from tessera.journal.base import JournalEntry
from tessera.journal.sqlite import SqliteJournal
from tessera.store.base import TrackQuery
from tessera.store.memory import MemoryTrackStore

SCHEME = ClassificationScheme(("UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"))
SETTINGS = FusionSettings(lineage_window=50, batch_seconds=0.000001)
NATO = Picture("NATO", AdmissionRule(max_classification="SECRET", releasable_to="NATO"))
UKR = Picture("UKR", AdmissionRule(max_classification="SECRET", releasable_to="UKR"))
START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def entries(count: int) -> list[JournalEntry]:
    """Units moving east, some releasable to both communities, some to one."""
    found = []
    for seq in range(1, count + 1):
        unit = seq % 7
        label = Label(
            "RESTRICTED", ("NATO", "UKR") if unit < 4 else ("NATO",) if unit < 6 else ("UKR",)
        )
        when = START + timedelta(seconds=seq)
        report = Report(
            id=f"r{seq}",
            source=Source(f"unit-{unit}", SourceKind.UNIT),
            subject=f"unit-{unit}",
            observed_at=when,
            received_at=when,
            position=Position(53.0 + unit / 100, 18.0 + seq / 10_000),
            label=label,
        )
        found.append(JournalEntry(seq, when, report))
    return found


def worker(pictures: tuple[Picture, ...], tmp_path: Path) -> tuple[FusionWorker, MemoryTrackStore]:
    names = [picture.name for picture in pictures]
    store = MemoryTrackStore(names)
    fusion = FusionWorker(
        journal=SqliteJournal(tmp_path / "unused.sqlite3", clock=lambda: START),
        store=store,
        bus=MemoryBus(names, retained=10),
        pictures=pictures,
        scheme=SCHEME,
        tracker_factory=lambda _picture: KalmanTracker(SCHEME, SETTINGS),
    )
    return fusion, store


def features(store: MemoryTrackStore, picture: str) -> list[Any]:
    _, tracks = store.tracks(picture, TrackQuery())
    return sorted((json.loads(encode(track_feature(t))) for t in tracks), key=lambda f: f["id"])


def encode_state(tracker: Tracker) -> bytes:
    assert isinstance(tracker, KalmanTracker)
    return encode_tracker(tracker)


@pytest.mark.parametrize(("nato_at", "ukr_at"), [(40, 25), (25, 40), (30, 30), (0, 35)])
def test_a_worker_resumes_each_picture_from_its_own_position(
    tmp_path: Path, nato_at: int, ukr_at: int
) -> None:
    journal = entries(60)
    # Two workers fused one picture each, and stopped at different places.
    states: dict[str, tuple[int, int, Tracker]] = {}
    for picture, upto in ((NATO, nato_at), (UKR, ukr_at)):
        if not upto:
            continue  # never saved: this picture is rebuilt from the start
        alone, _ = worker((picture,), tmp_path)
        for start in range(0, upto, 7):
            alone.apply(journal[start : min(start + 7, upto)])
        position, seq, body = alone.snapshot(encode_state)[picture.name]
        assert position == upto
        states[picture.name] = (position, seq, decode_tracker(body, SCHEME, SETTINGS))

    # One worker now fuses both, from the least position on.
    both, store = worker((NATO, UKR), tmp_path)
    both.restore(states)
    assert both.position == min(nato_at, ukr_at)
    for start in range(both.position, len(journal), 9):
        both.apply(journal[start : start + 9])
    assert both.position == len(journal)
    assert {name: part[0] for name, part in both.snapshot(encode_state).items()} == {
        "NATO": 60,
        "UKR": 60,
    }

    replayed, expected = worker((NATO, UKR), tmp_path)
    replayed.apply(journal)
    resumed_states = both.snapshot(encode_state)
    for name, (_, _, body) in replayed.snapshot(encode_state).items():
        assert resumed_states[name][2] == body, f"{name}: not the full replay's state"
    for name in ("NATO", "UKR"):
        assert features(store, name) == features(expected, name)
        # Every report in a lineage once: none applied twice.
        _, tracks = store.tracks(name, TrackQuery())
        lineage = [report_id for track in tracks for report_id in track.lineage]
        assert len(lineage) == len(set(lineage))
