"""What a fusion checkpoint is, and what keeps one: each picture's tracker state with the
journal position it covers, saved together and loaded by configuration (fingerprint).

Free of any database driver: the embedded default keeps its checkpoints in SQLite
(``sqlite_checkpoints``), a scale-out deployment in PostGIS (``checkpoints``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

import msgspec

if TYPE_CHECKING:
    from tessera.cluster.fence import Fence


class PictureCheckpoint(msgspec.Struct, frozen=True):
    """One picture's tracker state, the journal position it covers and its change seq.
    ``overlays`` holds the picture's overlays (encoded) for a store that does not outlive
    the process; empty where the store keeps them itself. ``final``: saved at a clean
    stop, so no change past ``seq`` was ever sent."""

    journal_seq: int
    seq: int
    fingerprint: str
    body: bytes
    overlays: bytes = b""
    final: bool = False


class Checkpoint(msgspec.Struct, frozen=True):
    """Each picture's state, saved together."""

    pictures: dict[str, PictureCheckpoint]

    @property
    def journal_seq(self) -> int:
        """The position every picture's state covers (the least of theirs)."""
        return min(part.journal_seq for part in self.pictures.values())


class CheckpointStore(Protocol):
    # The lease epochs saves are made under (a fusion worker's; None: one process alone).
    fence: Fence | None

    async def save(self, checkpoint: Checkpoint) -> None:
        """Replace the stored state of the checkpoint's pictures, all or none."""

    async def load(self, fingerprints: Mapping[str, str]) -> dict[str, PictureCheckpoint]:
        """The stored state of each of these pictures that was saved under the same
        configuration (its fingerprint); a picture without one is left out."""
