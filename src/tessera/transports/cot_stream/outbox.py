"""Each TAK client's outbox: what is still to be written to it, coalesced.

Positions and tracks keep only their latest state per key, so a slow client receives
fewer, fresher events and its memory is bounded by the objects in its view; chat is kept
in order, up to a limit (the oldest is dropped, and counted, past it). Writing never waits
on the outbox: the writer drains everything pending in one write when the socket can take
more.
"""

from __future__ import annotations

import asyncio
from collections import deque

from tessera.transports.cot_stream.wire import WireEvent


class Outbox:
    def __init__(self, *, max_messages: int) -> None:
        self._latest: dict[str, WireEvent] = {}
        self._messages: deque[WireEvent] = deque(maxlen=max_messages)
        self._ready = asyncio.Event()
        self.dropped_messages = 0

    def put(self, event: WireEvent) -> None:
        # Re-inserting moves the key to the end: the drain keeps arrival order.
        self._latest.pop(event.key, None)
        self._latest[event.key] = event
        self._ready.set()

    def put_message(self, event: WireEvent) -> None:
        if len(self._messages) == self._messages.maxlen:
            self.dropped_messages += 1
        self._messages.append(event)
        self._ready.set()

    def pending(self) -> int:
        return len(self._latest) + len(self._messages)

    async def wait(self) -> None:
        await self._ready.wait()

    def drain(self, form: str) -> bytes:
        """Everything pending, encoded for the client's form, in one buffer."""
        self._ready.clear()
        parts = [event.encoded(form) for event in self._messages]
        parts.extend(event.encoded(form) for event in self._latest.values())
        self._messages.clear()
        self._latest = {}
        return b"".join(parts)
