"""The process that writes `tessera fuse`'s picture lines: lines whole and in order, a
writer that stops named at once, and no process left behind."""

from __future__ import annotations

import json
import os
import signal
from datetime import timedelta
from pathlib import Path

import msgspec

from tessera.batchfuse.lines import snapshot_feature
from tessera.batchfuse.picture import PictureWriteError, SnapshotWriter
from tessera.codecs.json import encode
from tessera.core.fusion.engine import KalmanTracker
from tessera.core.labels import ClassificationScheme
from tessera.core.model import Label, Position
from tests.core.fusion_support import T0, feed, report, tracker


def _engine() -> KalmanTracker:
    engine = tracker()
    feed(engine, [report(at=float(t), lat=53.0 + 0.001 * t) for t in range(3)])
    return engine


def _gone(pid: int) -> bool:
    """Whether ``pid`` has ended and been waited for (it is no child of ours any more)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def _refused(writer: SnapshotWriter, at: float) -> PictureWriteError:
    """The error of the first line refused (the first may still find the line before it
    acknowledged, and its own taken by the pipe)."""
    for k in range(3):
        try:
            writer.write(at + k)
        except PictureWriteError as error:
            return error
    raise AssertionError("the writer took every line")


def test_lines_are_written_whole_in_order_and_the_writer_ends(tmp_path: Path) -> None:
    # The engine's first tracks were made, and their changes taken, before the writer.
    engine = _engine()
    target = tmp_path / "picture.jsonl"
    with target.open("wb", buffering=0) as out:
        writer = SnapshotWriter(engine, out)
        for k in range(5):
            feed(engine, [report(at=10.0 + k, lat=53.003 + 0.001 * k)])
            writer.write(T0.timestamp() + 20.0 + k)
        writer.finish()
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [line["time"][-3:] for line in lines] == ["20Z", "21Z", "22Z", "23Z", "24Z"]
    counts = [sum(t["properties"]["report_count"] for t in line["tracks"]) for line in lines]
    assert counts == sorted(counts)
    assert counts[0] >= 3  # (the tracks made before the writer are in its first line)
    assert counts[-1] > counts[0]
    assert _gone(writer._pid)


def test_a_writer_that_stopped_is_named_at_the_next_line(tmp_path: Path) -> None:
    engine = _engine()
    target = tmp_path / "picture.jsonl"
    with target.open("wb", buffering=0) as out:
        writer = SnapshotWriter(engine, out)
        writer.write(T0.timestamp() + 10.0)
        os.kill(writer._pid, signal.SIGKILL)
        refused = _refused(writer, T0.timestamp() + 20.0)
        assert str(refused) == f"{target}: the picture writer stopped"
        writer.finish()  # (what went wrong was said)
    assert _gone(writer._pid)


def test_an_empty_picture_is_written_too(tmp_path: Path) -> None:
    engine = KalmanTracker(ClassificationScheme())
    target = tmp_path / "picture.jsonl"
    with target.open("wb", buffering=0) as out:
        writer = SnapshotWriter(engine, out)
        writer.write(T0.timestamp())
        writer.finish()
    assert json.loads(target.read_text())["tracks"] == []


def test_a_line_holds_every_track_as_this_process_would_build_it(tmp_path: Path) -> None:
    # Tracks of every kind of part: held by a declaration (until a time), at an altitude,
    # of several sources, of labels releasable to some communities.
    engine = _engine()
    held = report(at=4.0, lat=53.5, source="hq-file")
    held = msgspec.structs.replace(held, valid_until=T0 + timedelta(minutes=30))
    high = report(at=4.0, lat=53.7, source="uav-2")
    high = msgspec.structs.replace(high, position=Position(53.7, 18.0, 850.0, 30.0))
    marked = report(at=5.0, lat=53.9, label=Label("RESTRICTED", ("POL", "NLD")))
    feed(engine, [held, high, marked, report(at=6.0, lat=53.7, source="uav-3")])
    target = tmp_path / "picture.jsonl"
    with target.open("wb", buffering=0) as out:
        writer = SnapshotWriter(engine, out)
        writer.write(T0.timestamp() + 10.0)
        writer.finish()
    table = engine.table
    expected = [snapshot_feature(table.snapshot(record)) for record in table.records.values()]
    written = json.loads(target.read_text())["tracks"]
    assert written == json.loads(encode(expected))
    properties = [track["properties"] for track in written]
    assert any(p["valid_until"] for p in properties)
    assert any(len(track["geometry"]["coordinates"]) == 3 for track in written)
    assert any(p["releasable_to"] == ["NLD", "POL"] for p in properties)
    assert any(len(p["sources"]) == 2 for p in properties)
