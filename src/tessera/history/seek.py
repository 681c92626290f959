"""Seeking: the picture at a past time is the latest snapshot taken at or before it, plus
a replay of the journal from there up to that time."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from tessera.core.fusion.engine import FusionSettings
from tessera.core.labels import ClassificationScheme, Picture
from tessera.history.base import SnapshotStore
from tessera.history.replay import PastPicture
from tessera.journal.base import Journal

log = logging.getLogger(__name__)


# A replay jumps to a later snapshot when it is at least this many entries ahead (decoding
# one costs about as much as fusing a few hundred entries).
JUMP_ENTRIES: Final = 1_000


class NotRetainedError(ValueError):
    """The time asked for is older than what the journal and the snapshots keep."""


class History:
    """Seeks in the pictures' past (every role: a gateway reads the journal and the
    snapshots the fusion worker writes)."""

    def __init__(
        self,
        *,
        journal: Journal,
        snapshots: SnapshotStore,
        scheme: ClassificationScheme,
        settings: FusionSettings,
        fingerprints: Mapping[str, str],
    ) -> None:
        self.journal = journal
        self.snapshots = snapshots
        self._scheme = scheme
        self._settings = settings
        self._fingerprints = dict(fingerprints)
        self.jump_entries = JUMP_ENTRIES

    def fingerprint(self, picture: str) -> str:
        """The configuration ``picture``'s snapshots are taken and used under."""
        return self._fingerprints.get(picture, "")

    async def seek(self, picture: Picture, at: datetime) -> PastPicture:
        """``picture`` as it was at ``at`` (journal time); NotRetainedError if the journal
        no longer holds what rebuilding it needs."""
        past = PastPicture(
            picture=picture, journal=self.journal, scheme=self._scheme, settings=self._settings
        )
        snapshot = await self.snapshots.latest(picture.name, self.fingerprint(picture.name), at)
        first = self.journal.first_seq
        if snapshot is not None and snapshot.journal_seq >= first - 1:
            try:
                past.start_from(snapshot)
            except ValueError as exc:
                log.warning("a history snapshot of %s is unusable: %s", picture.name, exc)
                snapshot = None
        else:
            snapshot = None
        if snapshot is None and first > 1:
            raise NotRetainedError(
                "that time is older than the history kept (the journal's retention)"
            )
        await past.advance_to(at)
        return past

    async def advance(self, past: PastPicture, at: datetime) -> None:
        """Move ``past`` on to ``at`` as a replay that shows pictures at times does: from
        the latest snapshot at or before ``at`` when that is well ahead of it (see
        PastPicture.jump_to), then the journal up to ``at``."""
        name = past.picture.name
        snapshot = await self.snapshots.latest(name, self.fingerprint(name), at)
        if snapshot is not None and snapshot.journal_seq - past.position >= self.jump_entries:
            try:
                past.jump_to(snapshot)
            except ValueError as exc:
                log.warning("a history snapshot of %s is unusable: %s", name, exc)
        await past.advance_to(at)
