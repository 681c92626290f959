"""Alert notices fanned out to whoever listens (streams, TAK clients): each listener has
a bounded inbox, so a slow one loses its oldest notices (counted), never holds up others."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Final

from tessera.alerting.model import AlertNotice

DEFAULT_INBOX: Final = 1_000


class AlertInbox:
    def __init__(self, size: int = DEFAULT_INBOX) -> None:
        self._notices: deque[AlertNotice] = deque(maxlen=size)
        self._ready = asyncio.Event()
        self.dropped = 0

    def put(self, notice: AlertNotice) -> None:
        if len(self._notices) == self._notices.maxlen:
            self.dropped += 1
        self._notices.append(notice)
        self._ready.set()

    async def take(self) -> list[AlertNotice]:
        """Wait for notices, then take them all, oldest first."""
        await self._ready.wait()
        self._ready.clear()
        taken = list(self._notices)
        self._notices.clear()
        return taken


class AlertFeed:
    def __init__(self) -> None:
        self._inboxes: set[AlertInbox] = set()

    def listen(self, size: int = DEFAULT_INBOX) -> AlertInbox:
        inbox = AlertInbox(size)
        self._inboxes.add(inbox)
        return inbox

    def stop_listening(self, inbox: AlertInbox) -> None:
        self._inboxes.discard(inbox)

    def publish(self, notice: AlertNotice) -> None:
        for inbox in self._inboxes:
            inbox.put(notice)
