"""A journal written before overlays existed opens, keeps its reports, and takes overlays."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from tessera.codecs.json import encode_report
from tessera.core.model import Label, Position, Report, Source, SourceKind
from tessera.core.overlays import Overlay, OverlayKind, OverlayRevision
from tessera.journal.sqlite import SqliteJournal

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
OLD_SCHEMA = """
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('report', 'tick')),
    id TEXT UNIQUE,
    received_us INTEGER NOT NULL,
    body BLOB
);
"""


def test_an_old_journal_is_migrated_once_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    old = Report(
        id="old-1",
        source=Source("uav-1", SourceKind.UAV),
        observed_at=NOW,
        received_at=NOW,
        position=Position(53.0, 18.0),
        label=Label("UNCLASSIFIED"),
    )
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
        conn.execute(
            "INSERT INTO journal VALUES (1, 'report', 'old-1', 1, ?)", (encode_report(old),)
        )
        conn.execute("INSERT INTO journal VALUES (2, 'tick', NULL, 2, NULL)")

    overlay = Overlay(
        id="ovl-1",
        name="OP",
        kind=OverlayKind.POINT,
        coordinates=((18.0, 53.0),),
        label=Label("UNCLASSIFIED"),
    )

    async def scenario() -> None:
        for _ in range(2):  # the second open finds the new shape and changes nothing
            journal = SqliteJournal(path, clock=lambda: NOW)
            await journal.open()
            await journal.append([OverlayRevision(id="r1", overlay_id="ovl-1", overlay=overlay)])
            entries = await journal.read(0, 10)
            assert [e.seq for e in entries] == [1, 2, 3]
            assert entries[0].report == old
            assert entries[2].overlay is not None
            await journal.close()

    asyncio.run(scenario())
