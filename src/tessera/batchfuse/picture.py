"""Picture snapshots written incrementally: a track's feature is encoded once per change.

Each snapshot line holds the whole picture, but between two snapshots most tracks do not
change; the engine says which did (its changes, as the live server publishes them), so
only those are built and encoded again and every other track's bytes are reused. Of a
track the sweep only showed grown, only where it is shown and its error are taken anew. A line
is handed to the file by a thread of its own while the engine goes on (a line is large,
and writing it needs no lock the engine holds): at most one line waits, so memory stays
bounded, and a failed write is raised at the next line or at ``finish``.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import IO, Any

from tessera.codecs.geojson import moved_feature, track_feature
from tessera.codecs.json import encode
from tessera.core.fusion.engine import KalmanTracker
from tessera.core.fusion.snapshot import shown_position
from tessera.core.model import Track


def snapshot_feature(track: Track) -> dict[str, Any]:
    """A track as written in a snapshot: the API's feature, with its lineage window."""
    feature = track_feature(track)
    feature["properties"]["lineage"] = list(track.lineage)
    return feature


def _write_all(out: IO[bytes], data: bytes) -> None:
    """All of ``data``, however little each write takes (an unbuffered file may take
    part of it)."""
    view = memoryview(data)
    while view:
        view = view[out.write(view) :]


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


class PictureWriteError(Exception):
    """The picture file could not be written (a full disk, a lost mount); names it."""


class SnapshotWriter:
    """Writes ``{"time": ..., "tracks": [...]}`` lines, tracks in the engine's order, the
    same bytes as encoding the whole picture each time, to ``out`` (unbuffered: each line
    is written whole, so nothing is left to fail when the file closes)."""

    def __init__(self, tracker: KalmanTracker, out: IO[bytes]) -> None:
        self._tracker = tracker
        self._out = out
        self._encoded: dict[str, bytes] = {}
        self._features: dict[str, dict[str, Any]] = {}
        self._writing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshots")
        self._pending: Future[None] | None = None

    def write(self, at: float) -> None:
        table = self._tracker.table
        encoded = self._encoded
        features = self._features
        for track_id in table.removed:
            encoded.pop(track_id, None)
            features.pop(track_id, None)
        records = table.records
        shown_only = table.shown_only
        for track_id in table.dirty:
            record = records.get(track_id)
            if record is None:
                continue
            feature = features.get(track_id)
            if feature is None or track_id not in shown_only:
                feature = features[track_id] = snapshot_feature(table.snapshot(record))
            else:
                moved_feature(
                    feature, shown_position(table.kinematics(), table.profiles, record.row)
                )
            encoded[track_id] = encode(feature)
        self._tracker.forget_changes()
        tracks = b",".join([encoded[track_id] for track_id in records])
        self._wait()
        head = b'{"time":' + encode(iso(at)) + b',"tracks":['
        self._pending = self._writing.submit(self._write_line, head, tracks)

    def _write_line(self, head: bytes, tracks: bytes) -> None:
        for part in (head, tracks, b"]}\n"):
            _write_all(self._out, part)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            pending.result()
        except OSError as exc:
            name = getattr(self._out, "name", "the picture file")
            raise PictureWriteError(f"{name}: cannot write: {exc.strerror or exc}") from None

    def finish(self) -> None:
        """Wait for the last line to be written (raising if it could not be)."""
        try:
            self._wait()
        finally:
            self._writing.shutdown(wait=True)
