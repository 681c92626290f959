"""The chat journal in SQLite (``chat.sqlite3`` in the data folder; ``:memory:`` for none)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

import msgspec

from tessera.chat.base import ChatLog
from tessera.core.chat import ChatMessage
from tessera.private_files import private_file

FILE_NAME: Final = "chat.sqlite3"
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS chat (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, picture TEXT NOT NULL, id TEXT NOT NULL,
    body BLOB NOT NULL, UNIQUE (picture, id));
"""


def chat_log_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


class SqliteChatLog(ChatLog):
    def __init__(self, path: Path | str) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the chat journal is not open")
        return self._db

    def open(self) -> None:
        if isinstance(self._path, Path):
            # Owner-only, like the rest of the data folder (messages are labelled text).
            private_file(self._path)
        self._db = sqlite3.connect(self._path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # A message is acknowledged once written: synchronous, like the report journal.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def append(self, message: ChatMessage) -> ChatMessage | None:
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO chat (picture, id, body) VALUES (?, ?, ?)",
            (message.picture, message.id, msgspec.json.encode(message)),
        )
        if cursor.rowcount == 0 or cursor.lastrowid is None:
            return None
        return msgspec.structs.replace(message, seq=cursor.lastrowid)

    def read(self, after: int, limit: int) -> list[ChatMessage]:
        rows = self.db.execute(
            "SELECT seq, body FROM chat WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        ).fetchall()
        return [
            msgspec.structs.replace(msgspec.json.decode(body, type=ChatMessage), seq=seq)
            for seq, body in rows
        ]

    @property
    def last_seq(self) -> int:
        row = self.db.execute("SELECT max(seq) FROM chat").fetchone()
        return int(row[0] or 0)

    def history(self, picture: str, limit: int) -> list[ChatMessage]:
        rows = self.db.execute(
            "SELECT seq, body FROM chat WHERE picture = ? ORDER BY seq DESC LIMIT ?",
            (picture, limit),
        ).fetchall()
        return [
            msgspec.structs.replace(msgspec.json.decode(body, type=ChatMessage), seq=seq)
            for seq, body in reversed(rows)
        ]
