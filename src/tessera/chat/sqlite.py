"""The chat journal in SQLite (``chat.sqlite3`` in the data folder; ``:memory:`` for none)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import msgspec

from tessera.chat.base import ChatLog
from tessera.core.chat import ChatMessage
from tessera.wal_files import WalFile

FILE_NAME: Final = "chat.sqlite3"
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS chat (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, picture TEXT NOT NULL, id TEXT NOT NULL,
    body BLOB NOT NULL, UNIQUE (picture, id));
"""


def chat_log_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


class SqliteChatLog(WalFile, ChatLog):
    def __init__(self, path: Path | str) -> None:
        # Owner-only, like the rest of the data folder (messages are labelled text); a
        # message is acknowledged once written: synchronous, like the report journal.
        super().__init__(path, what="chat journal", schema=_SCHEMA, synchronous="FULL")

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
