"""Picture snapshots written incrementally: a track's feature is encoded once per change.

Each snapshot line holds the whole picture, but between two snapshots most tracks do not
change; the engine says which did (its changes, as the live server publishes them), so
only those are built and encoded again and every other track's bytes are reused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import IO, Any

from tessera.codecs.geojson import track_feature
from tessera.codecs.json import encode
from tessera.core.fusion.engine import KalmanTracker
from tessera.core.model import Track


def snapshot_feature(track: Track) -> dict[str, Any]:
    """A track as written in a snapshot: the API's feature, with its lineage window."""
    feature = track_feature(track)
    feature["properties"]["lineage"] = list(track.lineage)
    return feature


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


class SnapshotWriter:
    """Writes ``{"time": ..., "tracks": [...]}`` lines, tracks in the engine's order, the
    same bytes as encoding the whole picture each time."""

    def __init__(self, tracker: KalmanTracker, out: IO[bytes]) -> None:
        self._tracker = tracker
        self._out = out
        self._encoded: dict[str, bytes] = {}

    def write(self, at: float) -> None:
        table = self._tracker.table
        encoded = self._encoded
        for track_id in table.removed:
            encoded.pop(track_id, None)
        records = table.records
        for track_id in table.dirty:
            record = records.get(track_id)
            if record is not None:
                encoded[track_id] = encode(snapshot_feature(table.snapshot(record)))
        self._tracker.forget_changes()
        features = b",".join([encoded[track_id] for track_id in records])
        self._out.write(b'{"time":' + encode(iso(at)) + b',"tracks":[' + features + b"]}\n")
