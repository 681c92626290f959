"""The chat journal: every message said in a picture's room, labelled, in order.

Append-only and sequenced; a message's (picture, id) is its de-duplication key, so a
message heard twice (a TAK client resending, a peer gateway relaying) is kept once.
"""

from __future__ import annotations

import abc

from tessera.core.chat import ChatMessage


class ChatLog(abc.ABC):
    @abc.abstractmethod
    def open(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def append(self, message: ChatMessage) -> ChatMessage | None:
        """Journal ``message``; it with its seq, or None if the room already holds it."""

    @abc.abstractmethod
    def read(self, after: int, limit: int) -> list[ChatMessage]:
        """Up to ``limit`` messages of every room journaled after ``seq``, in order."""

    @property
    @abc.abstractmethod
    def last_seq(self) -> int:
        """The seq of the last message journaled (0: none)."""

    @abc.abstractmethod
    def history(self, picture: str, limit: int) -> list[ChatMessage]:
        """The last ``limit`` messages of ``picture``'s room, oldest first."""
