"""The journal: Tessera's single source of truth (DESIGN §5).

Append-only and globally sequenced. ``append`` returns only once the reports are durable,
so an acknowledgement is a promise. Report ids are the de-duplication key: appending an id
the journal already holds stores nothing and answers with the original sequence number.
Tick entries mark the passing of time when no report arrives, so fusion can age tracks
on the journal's clock alone. Overlay revisions (creations, edits, deletions) are kept in
the same sequence, de-duplicated on their revision id, so pictures rebuilt from the
journal hold the same overlays.

Retention: ``trim`` drops the oldest entries the retention settings let go, never one
past ``covered`` (the position every saved state covers), so a restart never needs what
was dropped; ``read`` then starts at the first entry held (``first_seq``). A trimmed
report's id is still a repeat for the de-duplication window: the journal keeps its key,
or asks the long-term record (``StoredKeys``) it was given.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

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


class Retention(msgspec.Struct, frozen=True, kw_only=True):
    """What a journal may drop (None: no bound): entries older than ``max_age_s`` or
    beyond ``max_bytes`` (both only up to what saved states cover), and the ids of
    dropped reports after ``dedup_window_s``."""

    max_age_s: float | None = None
    max_bytes: int | None = None
    dedup_window_s: float | None = None

    @property
    def trims(self) -> bool:
        return self.max_age_s is not None or self.max_bytes is not None


KEEP_ALL = Retention()


class StoredKeys(Protocol):
    """The long-term record of stored reports (the PostGIS report archive), asked about
    ids the journal no longer claims: a repeat older than the de-duplication window is
    still answered with its original sequence number."""

    async def stored_seqs(self, ids: Sequence[str]) -> dict[str, int]:
        """The journal sequence number of each of ``ids`` the record holds."""
        ...


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

    @property
    @abc.abstractmethod
    def last_seq(self) -> int: ...

    @property
    def first_seq(self) -> int:
        """The first entry held (``last_seq + 1`` when none is): 1 until trimmed."""
        return 1

    async def received_after(self, seq: int) -> datetime | None:
        """When the first entry past ``seq`` was received; None if there is none. A
        journal may answer this apart from its reads (it is asked while they wait)."""
        after = await self.read(seq, 1)
        return after[0].received_at if after else None

    def start_ticks(self) -> None:  # noqa: B027 (most journals have nothing to start)
        """Begin marking idle time now, for a journal told to hold its ticks until fusion
        has restored its state (the default marks time from ``open``)."""

    async def trim(self, covered: int) -> int:
        """Drop the oldest entries the retention settings let go, never one past
        ``covered``; the first seq still held. Without retention, nothing."""
        del covered
        return self.first_seq
