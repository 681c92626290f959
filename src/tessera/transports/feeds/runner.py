"""One feed running: read, decode, journal; on any failure wait (doubling the wait up to
the feed's longest) and start again. Bad input is counted and each kind of it logged
once; nothing a feed sends can stop it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from tessera.codecs.feed_model import Decoded
from tessera.transports.backoff import Attempt, run_with_backoff
from tessera.transports.feeds.base import FeedDecoder, FeedStatus, decoder_for
from tessera.transports.feeds.config import FeedConfig
from tessera.transports.feeds.sink import FeedSink
from tessera.transports.feeds.sources import pieces

if TYPE_CHECKING:
    from tessera.app import Tessera

log = logging.getLogger(__name__)


class FeedRunner:
    def __init__(self, tessera: Tessera, config: FeedConfig) -> None:
        self.tessera = tessera
        self.config = config
        self.status = FeedStatus(config)
        self.sink = FeedSink(tessera, config)
        self._logged_errors: set[str] = set()

    async def run(self) -> None:
        await run_with_backoff(
            self._attempt,
            self.status,
            self.config,
            failed=self._failed,  # whatever the far end does, the feed goes on
        )

    async def _attempt(self, attempt: Attempt) -> None:
        config, status = self.config, self.status
        await self.sink.ready()
        attempt.up = await self._read(decoder_for(config))
        if config.scheme == "file":
            status.state, status.connected = "finished", False
            log.info("feed %s: read %s to its end", config.name, config.address)
            attempt.done = True

    async def _read(self, decoder: FeedDecoder) -> bool:
        """Read until the source ends or fails; whether anything was decoded."""
        loop = asyncio.get_running_loop()
        clock = self.tessera.clock
        got_any = False
        # Closed on the way out whatever stops the reading (its socket with it).
        async with contextlib.aclosing(pieces(self.config, self.status)) as source:
            async for chunks, whole in source:
                now = loop.time()
                decoded = Decoded()
                for chunk in chunks:
                    decoded.extend(decoder.take(chunk, now, whole=whole))
                at = clock()
                await self.sink.put(decoded, at)
                self._count(decoded, at)
                got_any = got_any or decoded.messages > 0
        return got_any

    def _count(self, decoded: Decoded, at: datetime) -> None:
        for problem in self.status.counted(decoded, at):
            log.warning(
                "feed %s: bad input (%s); counted from now on, logged once",
                self.config.name,
                problem,
            )

    def _failed(self, exc: Exception) -> None:
        text = str(exc) or type(exc).__name__
        self.status.failed(text)
        kind = type(exc).__name__
        if kind not in self._logged_errors:
            self._logged_errors.add(kind)
            log.warning("feed %s (%s): %s", self.config.name, self.config.address, text)
        else:
            log.debug("feed %s: %s", self.config.name, text)


class Feeds:
    """Every configured feed, started with the server and stopped with it."""

    def __init__(self, tessera: Tessera) -> None:
        self.tessera = tessera
        self.runners = [FeedRunner(tessera, config) for config in tessera.settings.feeds]
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for runner in self.runners:
            self.tessera.feeds.feeds[runner.config.name] = runner.status
            self._tasks.append(asyncio.create_task(runner.run(), name=f"feed-{runner.config.name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()


async def start_feeds(tessera: Tessera) -> Feeds | None:
    """Start the settings' feeds; None if there are none (or this process is fusion)."""
    if not tessera.settings.feeds or tessera.role == "fusion":
        return None
    feeds = Feeds(tessera)
    feeds.start()
    return feeds
