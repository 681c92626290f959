"""Fusion checkpoints (DESIGN §5): the fusion worker saves every picture's tracker state now
and then (in PostGIS for a scale-out deployment, in the data folder's SQLite file on the
embedded default), so the worker that takes over after it, or the same server restarted,
loads the state and replays only the journal's tail instead of the whole journal.

A store that does not outlive the process (the embedded one, in memory) is filled again
from the checkpoint: each restored tracker's tracks and the picture's overlays (saved
with it), at the checkpoint's change seqs, so reads answer the checkpointed picture at
once while the tail is replayed.

A checkpoint is saved only once the store holds everything up to its journal position:
replaying from there re-emits what the store may lack, never skips it. A checkpoint taken
under another configuration (a picture's rule, the fusion settings, the format) is not
used: the worker then replays the whole journal, as without one.

With the JetStream journal, each saved checkpoint then advances the pictures' durable
consumer on the journal (``journal/jetstream_cursor.py``), so JetStream keeps how far the
saved state covers the journal; at a takeover the two are checked against each other.
Then ``on_saved`` runs (the journal's trim, ``trimming.py``).

A fusion worker saves and acknowledges under its ``fence`` (DESIGN §10): only while the
fence holds, and never once a save was refused for a newer epoch; a deposed worker's
cursor stays where its successor finds it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Final, Protocol

import msgspec

from tessera.cluster.fence import Fence, FencedError
from tessera.core.fusion.base import Tracker
from tessera.core.fusion.checkpoint import FORMAT_VERSION, decode_tracker, encode_tracker
from tessera.core.fusion.engine import FusionSettings, KalmanTracker
from tessera.core.labels import ClassificationScheme, Picture
from tessera.core.overlays import Overlay
from tessera.fusion_worker import FusionWorker
from tessera.journal.base import Journal
from tessera.store.base import TrackQuery, TrackStore
from tessera.store.checkpoint_store import Checkpoint, CheckpointStore, PictureCheckpoint

log = logging.getLogger(__name__)
FLUSH_TIMEOUT_S: Final = 60.0
_OVERLAYS_DECODER: Final = msgspec.json.Decoder(list[Overlay])
SEQ_GAP_BASE: Final = 1_000_000
# Fusion changes a picture far less than once a microsecond, so a minute of the last run
# sends fewer changes than this.
SEQ_GAP_PER_MINUTE: Final = 60_000_000


class Cursor(Protocol):
    """Where the journal keeps a reader's acknowledged position (a JetStream consumer)."""

    @property
    def cursor_position(self) -> int | None: ...

    async def acknowledge(self, position: int) -> int: ...


def fingerprint(picture: Picture, settings: FusionSettings, levels: Sequence[str]) -> str:
    # The order of battle is applied to tracks as they are shown, never to the state a
    # checkpoint holds: a change to it keeps the checkpoints (and their fingerprints).
    fused = {
        name: value
        for name, value in msgspec.structs.asdict(settings).items()
        if name != "order_of_battle"
    }
    described = msgspec.json.encode((FORMAT_VERSION, picture, fused, list(levels)))
    return hashlib.sha256(described).hexdigest()


class Checkpointer:
    def __init__(
        self,
        *,
        worker: FusionWorker,
        store: TrackStore,
        checkpoints: CheckpointStore,
        pictures: Sequence[Picture],
        scheme: ClassificationScheme,
        settings: FusionSettings,
        interval_s: float,
        cursor: Cursor | None = None,
        on_saved: Callable[[int], Awaitable[None]] | None = None,
        journal: Journal | None = None,
        store_outlives_process: bool = True,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._worker = worker
        self._clock = clock or (lambda: datetime.now(UTC))
        self._on_saved = on_saved
        self._journal = journal
        # The embedded store starts empty: the checkpoint carries the overlays to refill it.
        self._refill = not store_outlives_process
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

    @property
    def fingerprints(self) -> dict[str, str]:
        """Each picture's configuration, as its checkpoints are stored under."""
        return dict(self._fingerprints)

    async def restore(self) -> bool:
        """Load each picture's stored state into the worker; whether there was any. A
        picture without a usable one is rebuilt from the whole journal."""
        if self._cursor is not None:
            self.cursor_at = self._cursor.cursor_position
        states: dict[str, tuple[int, int, Tracker]] = {}
        overlays: dict[str, list[Overlay]] = {}
        finals: set[str] = set()
        journal_end = None if self._journal is None else self._journal.last_seq
        for name, part in (await self._checkpoints.load(self._fingerprints)).items():
            if journal_end is not None and part.journal_seq > journal_end:
                log.warning(
                    "picture %s: its checkpoint covers the journal up to entry %d, but the "
                    "journal ends at %d (replaced, or restored from an older backup?): unused",
                    name,
                    part.journal_seq,
                    journal_end,
                )
                continue
            try:
                tracker = decode_tracker(part.body, self._scheme, self._settings)
                if self._refill:
                    overlays[name] = _decode_overlays(part.overlays)
            except ValueError as exc:
                log.warning("picture %s: its checkpoint is unusable (%s)", name, exc)
                continue
            states[name] = (part.journal_seq, part.seq, tracker)
            if part.final:
                finals.add(name)
        for name in sorted(set(self._fingerprints) - set(states)):
            log.info("picture %s: no usable checkpoint, rebuilt from the whole journal", name)
        restored = bool(states)
        if self._refill:
            positions = {0} | {position for position, _, _ in states.values()}
            gaps = {position: await self._seq_gap(position) for position in positions}
            states = self._numbered_on(states, finals, gaps)
        if states:
            self._worker.restore(states)
        if self._refill:
            self._worker.fill_store(overlays)
        if not restored:
            return False
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

    def _numbered_on(
        self,
        states: dict[str, tuple[int, int, Tracker]],
        finals: set[str],
        gaps: dict[int, int],
    ) -> dict[str, tuple[int, int, Tracker]]:
        """Each picture's change seq to go on from, where the store starts empty. A
        checkpoint from a clean stop gives it exactly. Otherwise the last run may have sent
        changes past its checkpoint (or, without one, numbered from zero), and the replay
        numbers them afresh: a client resuming from one of those seqs would be sent the
        wrong changes, so the count jumps clear of every seq that run can have sent."""
        numbered: dict[str, tuple[int, int, Tracker]] = {}
        for name in self._fingerprints:
            if name in states:
                position, seq, tracker = states[name]
                if name not in finals:
                    seq += gaps[position]
                numbered[name] = (position, seq, tracker)
            elif self._journal is not None and gaps[0] > 0:
                tracker = self._worker.tracker(name)
                numbered[name] = (0, gaps[0], tracker)
        return numbered

    async def _seq_gap(self, position: int) -> int:
        """More than the changes the last run can have sent after fusing to ``position``:
        none if the journal holds nothing past it, else a bound by the time since then
        (whole minutes), never by how many entries there are, which would tell a picture's
        readers how much was written that they may not see."""
        if self._journal is None:
            return SEQ_GAP_BASE
        since = await self._journal.received_after(position)
        if since is None:
            return 0
        elapsed_s = (self._clock() - since).total_seconds()
        return SEQ_GAP_BASE + SEQ_GAP_PER_MINUTE * max(1, math.ceil(elapsed_s / 60))

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

    async def save(self, *, final: bool = False) -> None:
        """Save every picture's state; ``final`` at a clean stop (nothing is fused after
        it, so its change seqs are the last ones sent)."""
        if (self._worker.position <= self.saved_at and not final) or not self._holds():
            # Nothing new; or deposed, or a lease renewal late (the next interval saves).
            return
        states = self._worker.snapshot(_encode)
        position = self._worker.position
        # Taken with the states (no await between): the overlays at the same position.
        overlays = {name: self._overlays(name) for name in states} if self._refill else {}
        # Everything up to `position` must be in the store before the checkpoint says so.
        await self._store.flush(FLUSH_TIMEOUT_S)
        parts = {
            name: PictureCheckpoint(
                journal_seq, seq, self._fingerprints[name], body, overlays.get(name, b""), final
            )
            for name, (journal_seq, seq, body) in states.items()
        }
        checkpoint = Checkpoint(parts)
        await self._checkpoints.save(checkpoint)
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
        if self._on_saved is not None:
            await self._on_saved(position)

    def _overlays(self, picture: str) -> bytes:
        _, overlays = self._store.overlays(picture, TrackQuery())
        return msgspec.json.encode(overlays)


def _decode_overlays(data: bytes) -> list[Overlay]:
    if not data:
        return []
    try:
        return _OVERLAYS_DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise ValueError(f"its overlays cannot be read: {exc}") from None


def _encode(tracker: Tracker) -> bytes:
    if not isinstance(tracker, KalmanTracker):
        raise TypeError(f"no checkpoint for a {type(tracker).__name__}")
    return encode_tracker(tracker)
