"""The journal: Tessera's single source of truth (DESIGN §5).

Append-only and globally sequenced. ``append`` returns only once the reports are durable,
so an acknowledgement is a promise. Report ids are the de-duplication key: appending an id
the journal already holds stores nothing and answers with the original sequence number.
Tick entries mark the passing of time when no report arrives, so fusion can age tracks
on the journal's clock alone. Overlay revisions (creations, edits, deletions) are kept in
the same sequence, de-duplicated on their revision id, so pictures rebuilt from the
journal hold the same overlays.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime

import msgspec

from tessera.core.model import Report
from tessera.core.overlays import OverlayRevision

JournalItem = Report | OverlayRevision


class JournalEntry(msgspec.Struct, frozen=True):
    """One journal record: a report (with ``received_at`` stamped), an overlay revision
    (its overlay's ``updated_at`` stamped), or a tick (neither)."""

    seq: int
    received_at: datetime
    report: Report | None
    overlay: OverlayRevision | None = None


class AppendResult(msgspec.Struct, frozen=True):
    """Sequence numbers in the order the reports were given; ``duplicates`` counts the
    reports the journal already held."""

    ids: list[str]
    seqs: list[int]
    duplicates: int

    @property
    def first_seq(self) -> int:
        return min(self.seqs)

    @property
    def last_seq(self) -> int:
        return max(self.seqs)


class JournalClosedError(RuntimeError):
    """The journal was closed; nothing more can be appended."""


class JournalUnavailableError(RuntimeError):
    """An append could not be confirmed (a journal between processes, unreachable). It may
    still have been stored: retrying is safe, ids are de-duplicated."""


class Journal(abc.ABC):
    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def append(self, items: Sequence[JournalItem]) -> AppendResult:
        """Append reports and overlay revisions atomically (all or none) and return once
        durable."""

    @abc.abstractmethod
    async def read(self, after_seq: int, limit: int) -> list[JournalEntry]:
        """Entries with ``seq > after_seq``, in order, at most ``limit``."""

    @abc.abstractmethod
    async def wait(self, after_seq: int, timeout: float) -> int:
        """Wait until an entry past ``after_seq`` exists (or the timeout); the last seq."""

    @abc.abstractmethod
    async def reports(self, ids: Sequence[str]) -> dict[str, Report]:
        """The stored reports among ``ids``."""

    async def trim(self, covered: int) -> int:
        """Drop old entries, never past ``covered`` (what a saved fusion checkpoint covers);
        how many were dropped. A journal that keeps everything drops nothing."""
        return 0

    @property
    @abc.abstractmethod
    def last_seq(self) -> int: ...
