"""A private SQLite file in WAL mode: owner-only on disk (``private_file``), autocommit
(transactions are opened explicitly where needed), and written ahead so readers run beside
a writer. A ``str`` path (``:memory:``) is taken as it is. Also the write transaction
taken up front that such files (and any autocommit SQLite connection) use."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from tessera.private_files import private_file

Synchronous = Literal["NORMAL", "FULL"]


def connect_wal(
    path: Path | str,
    *,
    synchronous: Synchronous | None = None,
    busy_timeout_ms: int | None = None,
    shared: bool = False,
) -> sqlite3.Connection:
    """A connection to ``path``, created owner-only if it is a file that is not there yet
    (SQLite gives its -wal and -shm files the same mode). ``synchronous`` unset keeps
    SQLite's default; ``shared`` lets other threads use the connection (one at a time)."""
    if isinstance(path, Path):
        private_file(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=not shared)
    try:
        if busy_timeout_ms is not None:
            # Set first, so that switching to WAL waits for another process that is doing
            # the same instead of failing with "database is locked".
            conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        conn.execute("PRAGMA journal_mode=WAL")
        if synchronous is not None:
            conn.execute(f"PRAGMA synchronous={synchronous}")
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """A transaction on an autocommit connection, committed if its body returns."""
    # IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so another
    # process cannot change a row between our read of it and our write.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    finally:
        # Still open only if the body or the COMMIT failed (SQLite may already have
        # rolled back by itself, hence the check).
        if conn.in_transaction:
            conn.execute("ROLLBACK")


class WalFile:
    """One connection to a private WAL file with its schema, opened and closed by its
    owner on the owner's thread."""

    def __init__(
        self, path: Path | str, *, what: str, schema: str, synchronous: Synchronous
    ) -> None:
        self._path = path
        self._what = what
        self._schema = schema
        self._synchronous: Synchronous = synchronous
        self._db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"the {self._what} is not open")
        return self._db

    def open(self) -> None:
        conn = connect_wal(self._path, synchronous=self._synchronous)
        try:
            conn.executescript(self._schema)
        except BaseException:
            conn.close()
            raise
        self._db = conn

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
