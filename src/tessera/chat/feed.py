"""Chat messages fanned out to whoever listens (web streams, TAK clients): each listener
has a bounded inbox, so a slow one loses its oldest messages (counted), never holds up
the others; the room's history is always there to read again."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Final

from tessera.core.chat import ChatMessage

DEFAULT_INBOX: Final = 1_000


class ChatInbox:
    def __init__(self, size: int = DEFAULT_INBOX) -> None:
        self._messages: deque[ChatMessage] = deque(maxlen=size)
        self._ready = asyncio.Event()
        self.dropped = 0

    def put(self, message: ChatMessage) -> None:
        if len(self._messages) == self._messages.maxlen:
            self.dropped += 1
        self._messages.append(message)
        self._ready.set()

    async def take(self) -> list[ChatMessage]:
        """Wait for messages, then take them all, oldest first."""
        await self._ready.wait()
        self._ready.clear()
        taken = list(self._messages)
        self._messages.clear()
        return taken


class ChatFeed:
    def __init__(self) -> None:
        self._inboxes: set[ChatInbox] = set()

    def listen(self, size: int = DEFAULT_INBOX) -> ChatInbox:
        inbox = ChatInbox(size)
        self._inboxes.add(inbox)
        return inbox

    def stop_listening(self, inbox: ChatInbox) -> None:
        self._inboxes.discard(inbox)

    def publish(self, message: ChatMessage) -> None:
        for inbox in self._inboxes:
            inbox.put(message)
