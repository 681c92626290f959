"""Picture lines from the engine's changes: what the picture writer's own process does.

The engine's process sends, for each snapshot, the tracks changed since the last one
(``SnapshotChanges``); this side keeps every track's feature and its bytes, builds and
encodes only the changed ones, and assembles the line: the same bytes as encoding the
whole picture each time. Frames on the pipes are a length (8 bytes, little-endian) and
that many bytes.
"""

from __future__ import annotations

import os
import struct
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from tessera.codecs.geojson import moved_feature, track_feature
from tessera.codecs.json import decode_hook, encode
from tessera.core.fusion.snapshot import ShownRow, TrackParts, shown_position, track_of
from tessera.core.model import Track
from tessera.core.order_of_battle import OrderOfBattle, placed

_LENGTH: Final = struct.Struct("<Q")


class SnapshotChanges(msgspec.Struct, array_like=True):
    """What changed in the picture by ``at``: every track's id in the engine's order,
    those dropped, what those changed are built from, and the rows of those only shown
    grown (where they are shown, and their error, are taken anew from them)."""

    at: float
    order: list[str]
    removed: list[str]
    built: list[TrackParts]
    moved: list[tuple[str, ShownRow]]


CHANGES_DECODER: Final = msgspec.json.Decoder(SnapshotChanges, dec_hook=decode_hook)


def snapshot_feature(track: Track) -> dict[str, Any]:
    """A track as written in a snapshot: the API's feature, with its lineage window."""
    feature = track_feature(track)
    feature["properties"]["lineage"] = list(track.lineage)
    return feature


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


class PictureLines:
    """Every track's last feature and its bytes; a line from each snapshot's changes
    (tracks placed in ``order``, the order of battle, as the engine's table places them)."""

    def __init__(self, order: OrderOfBattle) -> None:
        self._order = order
        self._encoded: dict[str, bytes] = {}
        self._features: dict[str, dict[str, Any]] = {}

    def line(self, changes: SnapshotChanges) -> list[bytes]:
        """The snapshot's line, in parts to be written one after the other."""
        encoded = self._encoded
        features = self._features
        for track_id in changes.removed:
            encoded.pop(track_id, None)
            features.pop(track_id, None)
        for parts in changes.built:
            track = placed(track_of(parts), self._order)
            feature = features[track.id] = snapshot_feature(track)
            encoded[track.id] = encode(feature)
        for track_id, row in changes.moved:
            feature = features[track_id]
            moved_feature(feature, shown_position(row))
            encoded[track_id] = encode(feature)
        tracks = b",".join([encoded[track_id] for track_id in changes.order])
        head = b'{"time":' + encode(iso(changes.at)) + b',"tracks":['
        return [head, tracks, b"]}\n"]


def write_all(fd: int, data: bytes) -> None:
    """All of ``data``, however little each write takes."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def send_frame(fd: int, payload: bytes) -> None:
    write_all(fd, _LENGTH.pack(len(payload)) + payload)


def receive_frame(fd: int) -> bytes | None:
    """The next frame's payload; None at the end of the stream."""
    head = _read_exactly(fd, _LENGTH.size)
    if head is None:
        return None
    payload = _read_exactly(fd, _LENGTH.unpack(head)[0])
    if payload is None:
        raise EOFError("the stream ended inside a frame")
    return payload


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts: list[bytes] = []
    left = size
    while left:
        part = os.read(fd, min(left, 1 << 20))
        if not part:
            if left == size:
                return None
            raise EOFError("the stream ended inside a frame")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def serve(changes_fd: int, acks_fd: int, out_fd: int, order: OrderOfBattle) -> None:
    """The writer process: a line to ``out_fd`` for each frame of changes, and a frame
    on ``acks_fd`` once it is written (empty; or the reason it could not be)."""
    lines = PictureLines(order)
    while (payload := receive_frame(changes_fd)) is not None:
        parts = lines.line(CHANGES_DECODER.decode(payload))
        try:
            for part in parts:
                write_all(out_fd, part)
        except OSError as exc:
            send_frame(acks_fd, str(exc.strerror or exc).encode())
            return
        send_frame(acks_fd, b"")
