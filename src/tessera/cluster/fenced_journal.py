"""A journal that refuses to append once its writer's lease may have passed to another
process: the links services of a gateway write through one, so a gateway that lost the
links lease (even paused past its time to live, before it finds out) adds nothing more."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from tessera.cluster.lease_keys import LeaseLostError
from tessera.core.model import Report
from tessera.journal.base import AppendResult, Journal, JournalEntry, JournalItem


class FencedJournal(Journal):
    """``journal`` as it is, but ``append`` only while ``valid()`` (LeaseLostError then).
    Opening and closing are the journal's owner's, not this view's."""

    def __init__(self, journal: Journal, valid: Callable[[], bool]) -> None:
        self._journal = journal
        self._valid = valid

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def append(self, items: Sequence[JournalItem]) -> AppendResult:
        if not self._valid():
            raise LeaseLostError("the links lease has passed to another gateway")
        return await self._journal.append(items)

    async def read(self, after_seq: int, limit: int) -> list[JournalEntry]:
        return await self._journal.read(after_seq, limit)

    async def wait(self, after_seq: int, timeout: float) -> int:
        return await self._journal.wait(after_seq, timeout)

    async def reports(self, ids: Sequence[str]) -> dict[str, Report]:
        return await self._journal.reports(ids)

    @property
    def last_seq(self) -> int:
        return self._journal.last_seq

    @property
    def first_seq(self) -> int:
        return self._journal.first_seq

    async def received_after(self, seq: int) -> datetime | None:
        return await self._journal.received_after(seq)

    async def trim(self, covered: int) -> int:
        return await self._journal.trim(covered)
