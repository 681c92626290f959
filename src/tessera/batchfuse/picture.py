"""Picture snapshots written incrementally, by a process of their own.

Each snapshot line holds the whole picture, but between two snapshots most tracks do not
change; the engine says which did (its changes, as the live server publishes them), so
only those are sent on. Building a track's feature, encoding it and writing the line
take as long as fusing does, so a process of their own does them (``lines.serve``, on
the other core) while the engine goes on: this side sends what each snapshot's changed
tracks are built from (``snapshot.TrackParts``; of a track the sweep only showed grown,
only its row). At most
one line waits to be written, so memory stays bounded, and a failed write is raised at
the next line or at ``finish``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
from typing import IO, Final

from tessera.batchfuse.lines import SnapshotChanges, receive_frame, send_frame, serve
from tessera.codecs.json import encode
from tessera.core.fusion.engine import KalmanTracker
from tessera.core.fusion.snapshot import ShownRow, TrackParts, shown_row, track_parts

# Room in the pipe for a snapshot's changes, so sending one seldom waits (Linux only;
# elsewhere the pipe keeps its size).
_PIPE_BYTES: Final = 1 << 20


class PictureWriteError(Exception):
    """The picture file could not be written (a full disk, a lost mount); names it."""


class SnapshotWriter:
    """Writes ``{"time": ..., "tracks": [...]}`` lines, tracks in the engine's order, the
    same bytes as encoding the whole picture each time, to ``out`` (unbuffered: each line
    is written whole, so nothing is left to fail when the file closes)."""

    def __init__(self, tracker: KalmanTracker, out: IO[bytes]) -> None:
        self._tracker = tracker
        self._name = getattr(out, "name", "the picture file")
        self._built: set[str] = set()  # tracks whose feature the writer holds
        self._waiting = False
        changes_read, self._changes = os.pipe()
        self._acks, acks_write = os.pipe()
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(self._changes, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        self._pid = os.fork()
        if self._pid == 0:  # the writer process
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # (the engine's to handle)
                os.close(self._changes)
                os.close(self._acks)
                serve(changes_read, acks_write, out.fileno(), tracker.table.order)
                code = 0
            finally:
                os._exit(code)
        os.close(changes_read)
        os.close(acks_write)

    def write(self, at: float) -> None:
        table = self._tracker.table
        records = table.records
        built = self._built
        built.difference_update(table.removed)
        shown_only = table.shown_only
        arrays, profiles = table.kinematics(), table.profiles
        rebuilt: list[TrackParts] = []
        moved: list[tuple[str, ShownRow]] = []
        for track_id in table.dirty:
            record = records.get(track_id)
            if record is None:
                continue
            if track_id in shown_only and track_id in built:
                moved.append((track_id, shown_row(arrays, profiles, record.row)))
            else:
                rebuilt.append(track_parts(record, arrays, profiles))
                built.add(track_id)
        if len(built) < len(records):
            # (Tracks made before the writer was, whose changes were taken elsewhere.)
            for track_id, record in records.items():
                if track_id not in built:
                    rebuilt.append(track_parts(record, arrays, profiles))
                    built.add(track_id)
        changes = SnapshotChanges(at, list(records), sorted(table.removed), rebuilt, moved)
        payload = encode(changes)
        self._tracker.forget_changes()
        self._wait()
        try:
            send_frame(self._changes, payload)
        except OSError:
            self._wait()  # (the writer stopped: say why)
            raise PictureWriteError(f"{self._name}: the picture writer stopped") from None
        self._waiting = True

    def _wait(self) -> None:
        """Wait until the line sent last is written, raising if it could not be."""
        if not self._waiting:
            return
        self._waiting = False
        try:
            reason = receive_frame(self._acks)
        except (OSError, EOFError):
            reason = None
        if reason is None:
            raise PictureWriteError(f"{self._name}: the picture writer stopped")
        if reason:
            raise PictureWriteError(f"{self._name}: cannot write: {reason.decode()}")

    def finish(self) -> None:
        """Wait for the last line to be written (raising if it could not be), and for
        the writer process to end."""
        try:
            self._wait()
        finally:
            os.close(self._changes)
            os.close(self._acks)
            os.waitpid(self._pid, 0)
