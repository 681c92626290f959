"""The audit trail as the server writes it: events are grouped and appended in the
background, so a request never waits for the audit's disk write; ``flush`` writes what is
queued (stopping, and reading the trail, flush first)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from tessera.security.base import AuditEvent, SecurityStore

log = logging.getLogger(__name__)
FLUSH_INTERVAL_S: Final = 0.1
MAX_QUEUED: Final = 100_000


class AuditTrail:
    def __init__(self, store: SecurityStore) -> None:
        self._store = store
        self._queued: list[AuditEvent] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def record(self, event: AuditEvent) -> None:
        self._queued.append(event)
        if len(self._queued) >= MAX_QUEUED:
            self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-trail")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            if not self._queued:
                return
            events, self._queued = self._queued, []
            try:
                await self._store.append_audit(events)
            except Exception:
                # Keep them for the next attempt rather than lose them.
                self._queued[:0] = events
                raise

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_INTERVAL_S)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("could not write the audit trail; retrying")
