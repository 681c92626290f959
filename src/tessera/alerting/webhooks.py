"""Alerts sent to other systems over HTTP: one bounded queue and one sender per target.

Each delivery is a JSON body signed with HMAC-SHA256 (``signing``), with an id that is
the same on every attempt (``X-Tessera-Delivery``: the receiver drops a repeat). A
failure (no answer, or not 2xx) is tried again after a wait doubled each time, up to the
attempts configured; then the delivery is given up, counted and logged. A full queue
drops its oldest delivery (counted). What failed is in ``/health`` (and counted in
``/status``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import msgspec

from tessera.alerting.model import AlertNotice
from tessera.alerting.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature
from tessera.alerting.visibility import webhook_receives
from tessera.core.alerts.rules import AlertSettings, WebhookTarget
from tessera.core.labels import ClassificationScheme

log = logging.getLogger(__name__)


def delivery_body(notice: AlertNotice) -> bytes:
    return msgspec.json.encode(
        {"id": notice.id, "event": notice.event.value, "alert": notice.alert}
    )


class WebhookQueue:
    """One target's deliveries and what became of them."""

    def __init__(self, target: WebhookTarget, size: int) -> None:
        self.target = target
        self.pending: deque[AlertNotice] = deque(maxlen=size)
        self.ready = asyncio.Event()
        self.delivered = 0
        self.failed = 0
        self.dropped = 0
        self.retries = 0
        self.last_error: str | None = None
        self.last_failure_at: datetime | None = None
        # Whether the latest delivery tried has failed at least once and not yet gone.
        self.failing = False

    def offer(self, notice: AlertNotice) -> None:
        if len(self.pending) == self.pending.maxlen:
            self.dropped += 1
        self.pending.append(notice)
        self.ready.set()

    def counts(self) -> dict[str, Any]:
        return {
            "name": self.target.name,
            "queued": len(self.pending),
            "delivered": self.delivered,
            "retries": self.retries,
            "failed": self.failed,
            "dropped": self.dropped,
            "last_error": self.last_error,
            "last_failure_at": self.last_failure_at,
        }


class WebhookSender:
    def __init__(
        self,
        settings: AlertSettings,
        scheme: ClassificationScheme,
        clock: Callable[[], datetime],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._scheme = scheme
        self._clock = clock
        self._transport = transport
        # How a retry waits (a test records the waits instead).
        self._pause = pause
        self.queues = [WebhookQueue(t, settings.webhook_queue) for t in settings.webhooks]
        self._client: httpx.AsyncClient | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def offer(self, notice: AlertNotice) -> None:
        for queue in self.queues:
            if webhook_receives(queue.target, notice.alert, self._scheme):
                queue.offer(notice)

    async def start(self) -> None:
        if not self.queues:
            return
        self._client = httpx.AsyncClient(
            timeout=self._settings.webhook_timeout_s, transport=self._transport
        )
        self._tasks = [
            asyncio.create_task(self._run(queue), name=f"webhook-{queue.target.name}")
            for queue in self.queues
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def status(self) -> str:
        """``ok``, ``failing`` (a delivery is being retried or was given up since the
        last success) or ``none`` (no webhooks)."""
        if not self.queues:
            return "none"
        return "failing" if any(queue.failing for queue in self.queues) else "ok"

    def counts(self) -> list[dict[str, Any]]:
        return [queue.counts() for queue in self.queues]

    async def _run(self, queue: WebhookQueue) -> None:
        while True:
            await queue.ready.wait()
            while queue.pending:
                notice = queue.pending[0]
                delivered = await self._deliver(queue, notice)
                # Dropped meanwhile (the queue overflowed): nothing to pop.
                if queue.pending and queue.pending[0] is notice:
                    queue.pending.popleft()
                if delivered:
                    queue.delivered += 1
                    queue.failing = False
                else:
                    queue.failed += 1
                    log.warning(
                        "webhook %s: delivery %s given up: %s",
                        queue.target.name,
                        notice.id,
                        queue.last_error,
                    )
            queue.ready.clear()

    async def _deliver(self, queue: WebhookQueue, notice: AlertNotice) -> bool:
        assert self._client is not None
        target = queue.target
        body = delivery_body(notice)
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: signature(target.secret, body),
            DELIVERY_HEADER: notice.id,
            EVENT_HEADER: f"alert.{notice.event.value}",
        }
        wait = self._settings.webhook_backoff_s
        for attempt in range(self._settings.webhook_attempts):
            if attempt:
                queue.retries += 1
                await self._pause(wait)
                wait = min(wait * 2, self._settings.webhook_backoff_max_s)
            try:
                answer = await self._client.post(target.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if 200 <= answer.status_code < 300:
                    return True
                problem = f"answered {answer.status_code}"
            queue.failing = True
            queue.last_error = problem
            queue.last_failure_at = self._clock()
        return False
