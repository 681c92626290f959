"""Fusion checkpoints on the embedded default: one SQLite file in the data folder, saved
all or nothing, owner-only, ignored when saved under another configuration or unreadable."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from pathlib import Path

import pytest

from tessera.store.checkpoint_store import Checkpoint, PictureCheckpoint
from tessera.store.sqlite_checkpoints import SqliteCheckpoints, checkpoint_path

FINGERPRINTS = {"COP": "f-cop", "NATO": "f-nato"}


def checkpoint(journal_seq: int, *, nato_seq: int | None = None) -> Checkpoint:
    return Checkpoint(
        {
            "COP": PictureCheckpoint(journal_seq, 10, "f-cop", b"cop-state", b"[]", final=True),
            "NATO": PictureCheckpoint(
                journal_seq if nato_seq is None else nato_seq, 7, "f-nato", b"nato-state"
            ),
        }
    )


def test_a_saved_checkpoint_loads_back(tmp_path: Path) -> None:
    store = SqliteCheckpoints(checkpoint_path(tmp_path))
    asyncio.run(store.save(checkpoint(5)))
    asyncio.run(store.save(checkpoint(9)))
    loaded = asyncio.run(store.load(FINGERPRINTS))
    assert loaded == checkpoint(9).pictures


def test_a_save_that_fails_part_way_leaves_the_previous_checkpoint_whole(tmp_path: Path) -> None:
    store = SqliteCheckpoints(checkpoint_path(tmp_path))
    asyncio.run(store.save(checkpoint(5)))
    # The second picture's row cannot be written (no SQLite integer holds it): the first
    # picture's row, already written in the same transaction, must not stay.
    with pytest.raises(OverflowError):
        asyncio.run(store.save(checkpoint(9, nato_seq=2**70)))
    assert asyncio.run(store.load(FINGERPRINTS)) == checkpoint(5).pictures


def test_a_checkpoint_under_another_configuration_is_ignored(tmp_path: Path) -> None:
    store = SqliteCheckpoints(checkpoint_path(tmp_path))
    asyncio.run(store.save(checkpoint(5)))
    loaded = asyncio.run(store.load({"COP": "f-cop", "NATO": "another"}))
    assert set(loaded) == {"COP"}
    assert asyncio.run(store.load({})) == {}


def test_no_file_no_checkpoint(tmp_path: Path) -> None:
    assert asyncio.run(SqliteCheckpoints(checkpoint_path(tmp_path)).load(FINGERPRINTS)) == {}
    assert not checkpoint_path(tmp_path).exists()


def test_an_unreadable_file_is_moved_aside_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = checkpoint_path(tmp_path)
    path.write_bytes(b"this is not a database, and never was one" * 100)
    store = SqliteCheckpoints(path)
    with caplog.at_level(logging.WARNING):
        assert asyncio.run(store.load(FINGERPRINTS)) == {}
    assert "cannot be read" in caplog.text and "whole journal" in caplog.text
    assert path.with_name(path.name + ".unreadable").exists()
    # The next save starts a new file.
    asyncio.run(store.save(checkpoint(3)))
    assert asyncio.run(store.load(FINGERPRINTS)) == checkpoint(3).pictures


def test_the_file_is_its_owners_only(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        path = checkpoint_path(tmp_path / "data")
        asyncio.run(SqliteCheckpoints(path).save(checkpoint(1)))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
