"""The embedded journal marks idle time with ticks; held, it writes none until told, so a
fresh server's journal is the same whenever its fusion comes to restore."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from tessera.journal.sqlite import SqliteJournal


def test_held_ticks_start_only_when_told(tmp_path: Path) -> None:
    async def scenario() -> None:
        journal = SqliteJournal(
            tmp_path / "journal.sqlite3",
            clock=lambda: datetime.now(UTC),
            tick_interval=0.001,
            hold_ticks=True,
        )
        await journal.open()
        try:
            # Many tick intervals pass with nothing written.
            assert await journal.wait(0, 0.2) == 0
            journal.start_ticks()
            assert await journal.wait(0, 30) >= 1
            entries = await journal.read(0, 10)
            assert entries and entries[0].report is None and entries[0].overlay is None
        finally:
            await journal.close()

    asyncio.run(scenario())


def test_unheld_ticks_start_at_open(tmp_path: Path) -> None:
    async def scenario() -> None:
        journal = SqliteJournal(
            tmp_path / "journal.sqlite3", clock=lambda: datetime.now(UTC), tick_interval=0.001
        )
        await journal.open()
        try:
            assert await journal.wait(0, 30) >= 1
        finally:
            await journal.close()

    asyncio.run(scenario())
