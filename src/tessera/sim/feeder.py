"""Feed a running server through its public API, in real time, as the scenario says.

Each report is sent when its send time comes; reports due together go in one batch (at
most MAX_BATCH). A batch that meets a connection error, a 5xx or a 429 is retried with
backoff: report ids are set, so a retry is idempotent on the server. A batch the server
rejects (4xx) is counted as errors and its reason shown; nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from tessera.codecs.json import encode
from tessera.core.model import Report
from tessera.sim.sensors import Sighting

log = logging.getLogger(__name__)
MAX_BATCH = 500
MAX_ATTEMPTS = 8
RETRYABLE = frozenset({429, 500, 502, 503, 504})


@dataclass
class FeedProgress:
    sent: int = 0
    batches: int = 0
    errors: int = 0
    retries: int = 0
    started: float = field(default_factory=time.monotonic)
    last_error: str = ""

    @property
    def rate(self) -> float:
        return self.sent / max(time.monotonic() - self.started, 1e-9)


class FeedError(RuntimeError):
    """The server could not be reached even after retrying."""


async def post_batch(
    client: httpx.AsyncClient, reports: list[Report], progress: FeedProgress
) -> None:
    body = encode(reports)
    delay = 0.25
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            response = await client.post(
                "/api/v1/reports", content=body, headers={"content-type": "application/json"}
            )
        except httpx.TransportError as exc:
            reason = f"connection failed: {exc!r}"
        else:
            if response.status_code == 202:
                progress.sent += len(reports)
                progress.batches += 1
                return
            reason = f"HTTP {response.status_code}: {response.text[:300]}"
            if response.status_code in (401, 403):
                # Nothing later will fare better (credentials, or sources not registered
                # to the feed's principal): stop, saying why.
                raise FeedError(f"the server refused the feed: {reason}")
            if response.status_code not in RETRYABLE:
                progress.errors += len(reports)
                progress.last_error = reason
                log.error("batch of %d reports rejected: %s", len(reports), reason)
                return
        if attempt == MAX_ATTEMPTS:
            raise FeedError(f"giving up after {attempt} attempts: {reason}")
        progress.retries += 1
        progress.last_error = reason
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


async def feed(
    client: httpx.AsyncClient,
    sightings: Iterator[Sighting],
    *,
    until: datetime | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_progress: Callable[[FeedProgress], None] | None = None,
) -> FeedProgress:
    """Send every sighting at its send time (stop at ``until``); return the totals."""
    progress = FeedProgress()
    batch: list[Report] = []
    for sighting in sightings:
        if until is not None and sighting.send_at > until:
            break
        wait = (sighting.send_at - now()).total_seconds()
        if wait > 0 or len(batch) >= MAX_BATCH:
            if batch:
                await post_batch(client, batch, progress)
                batch = []
                if on_progress is not None:
                    on_progress(progress)
            wait = (sighting.send_at - now()).total_seconds()
            if wait > 0:
                await asyncio.sleep(wait)
        batch.append(sighting.report)
    if batch:
        await post_batch(client, batch, progress)
        if on_progress is not None:
            on_progress(progress)
    return progress
