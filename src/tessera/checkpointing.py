"""Fusion checkpoints (DESIGN §5): a fusion worker writing to PostGIS saves every picture's
tracker state now and then, so the worker that takes over after it loads the state and
replays only the journal's tail instead of the whole journal.

A checkpoint is saved only once the store holds everything up to its journal position:
replaying from there re-emits what the store may lack, never skips it. A checkpoint taken
under another configuration (a picture's rule, the fusion settings, the format) is not
used: the worker then replays the whole journal, as without one.

With the JetStream journal, each saved checkpoint then advances the pictures' durable
consumer on the journal (``journal/jetstream_cursor.py``), so JetStream keeps how far the
saved state covers the journal; at a takeover the two are checked against each other.

A fusion worker saves and acknowledges under its ``fence`` (DESIGN §10): only while the
fence holds, and never once a save was refused for a newer epoch; a deposed worker's
cursor stays where its successor finds it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from typing import Final, Protocol

import msgspec

from tessera.cluster.fence import Fence, FencedError
from tessera.core.fusion.base import Tracker
from tessera.core.fusion.checkpoint import FORMAT_VERSION, decode_tracker, encode_tracker
from tessera.core.fusion.engine import FusionSettings, KalmanTracker
from tessera.core.labels import ClassificationScheme, Picture
from tessera.fusion_worker import FusionWorker
from tessera.store.checkpoints import Checkpoint, PictureCheckpoint, PostgisCheckpoints
from tessera.store.postgis import PostgisTrackStore

log = logging.getLogger(__name__)
FLUSH_TIMEOUT_S: Final = 60.0


class Cursor(Protocol):
    """Where the journal keeps a reader's acknowledged position (a JetStream consumer)."""

    @property
    def cursor_position(self) -> int | None: ...

    async def acknowledge(self, position: int) -> int: ...


def fingerprint(picture: Picture, settings: FusionSettings, levels: Sequence[str]) -> str:
    described = msgspec.json.encode((FORMAT_VERSION, picture, settings, list(levels)))
    return hashlib.sha256(described).hexdigest()


class Checkpointer:
    def __init__(
        self,
        *,
        worker: FusionWorker,
        store: PostgisTrackStore,
        checkpoints: PostgisCheckpoints,
        pictures: Sequence[Picture],
        scheme: ClassificationScheme,
        settings: FusionSettings,
        interval_s: float,
        cursor: Cursor | None = None,
    ) -> None:
        self._worker = worker
        self._cursor = cursor
        self._store = store
        self._checkpoints = checkpoints
        self._scheme = scheme
        self._settings = settings
        self._interval = interval_s
        self._fingerprints = {p.name: fingerprint(p, settings, scheme.levels) for p in pictures}
        self.saved_at = -1
        # The journal position the worker resumed from (None: a full replay).
        self.restored_from: int | None = None
        # The position the journal's cursor stood at when the worker took over.
        self.cursor_at: int | None = None
        # The lease epochs the worker writes under (set at its takeover).
        self.fence: Fence | None = None

    async def restore(self) -> bool:
        """Load each picture's stored state into the worker; whether there was any. A
        picture without a usable one is rebuilt from the whole journal."""
        if self._cursor is not None:
            self.cursor_at = self._cursor.cursor_position
        states: dict[str, tuple[int, int, Tracker]] = {}
        for name, part in (await self._checkpoints.load(self._fingerprints)).items():
            try:
                tracker = decode_tracker(part.body, self._scheme, self._settings)
            except ValueError as exc:
                log.warning("picture %s: its checkpoint is unusable (%s)", name, exc)
                continue
            states[name] = (part.journal_seq, part.seq, tracker)
        for name in sorted(set(self._fingerprints) - set(states)):
            log.info("picture %s: no usable checkpoint, rebuilt from the whole journal", name)
        if not states:
            return False
        self._worker.restore(states)
        resumed = self._worker.position
        if self.cursor_at is not None and self.cursor_at > resumed:
            # Never in normal running (the cursor moves only after a save): the
            # database is older than the journal's consumer, e.g. restored from a backup.
            # Replaying from the older state is safe; nothing is skipped.
            log.warning(
                "the journal's cursor is at entry %d, past the checkpoints (entry %d): "
                "was the database restored from an older backup? replaying from %d",
                self.cursor_at,
                resumed,
                resumed,
            )
        self.saved_at = resumed
        self.restored_from = resumed if resumed else None
        log.info("fusion resumes from its checkpoints at journal entry %d", resumed)
        return True

    async def run(self) -> None:
        """Save a checkpoint every interval while the worker moves on, until cancelled."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.save()
            except FencedError as exc:
                log.error("fusion checkpoints stop: %s", exc)
                if self.fence is not None:
                    self.fence.depose(str(exc))
                return
            except Exception:
                # A slow or unreachable database costs a checkpoint, never the worker:
                # the previous checkpoint stays valid, the next attempt comes anyway.
                log.exception("saving a fusion checkpoint failed; trying again later")

    def fence_writes(self, fence: Fence) -> None:
        """Save and acknowledge under ``fence`` from now on."""
        self.fence = fence
        self._checkpoints.fence = fence

    def _holds(self) -> bool:
        return self.fence is None or self.fence.holds()

    async def save(self) -> None:
        if self._worker.position <= self.saved_at or not self._holds():
            # Nothing new; or deposed, or a lease renewal late (the next interval saves).
            return
        states = self._worker.snapshot(_encode)
        position = self._worker.position
        # Everything up to `position` must be in the store before the checkpoint says so.
        await self._store.flush(FLUSH_TIMEOUT_S)
        parts = {
            name: PictureCheckpoint(journal_seq, seq, self._fingerprints[name], body)
            for name, (journal_seq, seq, body) in states.items()
        }
        await self._checkpoints.save(Checkpoint(parts))
        self.saved_at = position
        log.info("fusion checkpoint saved at journal entry %d", position)
        if self._cursor is not None and self._holds():
            try:
                acked = await self._cursor.acknowledge(position)
            except Exception as exc:
                # The checkpoint stands; the next one moves the cursor further.
                log.warning("advancing the journal's cursor failed: %s", exc)
            else:
                log.info("journal cursor acknowledged up to entry %d", acked)


def _encode(tracker: Tracker) -> bytes:
    if not isinstance(tracker, KalmanTracker):
        raise TypeError(f"no checkpoint for a {type(tracker).__name__}")
    return encode_tracker(tracker)
