"""A live server with feeds, and what its stream shows."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from tessera.transports.feeds.base import FeedStatus
from tessera.transports.feeds.runner import Feeds, start_feeds
from tests.support import ADMIN, Live, live_server

WAIT_S = 20.0


def feed(name: str, kind: str, address: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "kind": kind, "address": address, "principal": ADMIN.name, **more}


@contextlib.asynccontextmanager
async def feed_server(
    tmp_path: Path, *feeds: dict[str, Any], **overrides: Any
) -> AsyncIterator[tuple[Live, Feeds]]:
    async with live_server(tmp_path, feeds=list(feeds), **overrides) as live:
        running = await start_feeds(live.tessera)
        assert running is not None
        try:
            yield live, running
        finally:
            await running.stop()


async def until(check: Callable[[], bool], what: str) -> None:
    """Wait (bounded) until ``check()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not check():
        assert loop.time() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.02)


async def bound_port(status: FeedStatus) -> int:
    await until(lambda: status.bound is not None, f"feed {status.config.name} to listen")
    assert status.bound is not None
    return status.bound[1]


class Stream:
    """The picture as one stream subscriber sees it: tracks and overlays by id."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.tracks: dict[str, dict[str, Any]] = {}
        self.overlays: dict[str, dict[str, Any]] = {}

    async def until(self, check: Callable[[Stream], bool], what: str) -> None:
        async def follow() -> None:
            while not check(self):
                message = json.loads(await self.connection.recv())
                if message["type"] == "snapshot":
                    self.tracks = {f["id"]: f for f in message["features"]}
                    self.overlays = {f["id"]: f for f in message.get("overlays", [])}
                elif message["type"] == "changes":
                    self.tracks.update({f["id"]: f for f in message["upserts"]})
                    for removed in message["removes"]:
                        self.tracks.pop(removed, None)
                    self.overlays.update({f["id"]: f for f in message.get("overlays", [])})

        try:
            await asyncio.wait_for(follow(), WAIT_S)
        except TimeoutError:
            raise AssertionError(f"the stream never showed {what}") from None

    def subjects(self) -> dict[str, dict[str, Any]]:
        """Tracks by the subject people see (without a sender's scope)."""
        return {
            str(f["properties"]["subject"]).partition("~")[0]: f
            for f in self.tracks.values()
            if f["properties"]["subject"]
        }


@contextlib.asynccontextmanager
async def stream(live: Live) -> AsyncIterator[Stream]:
    connection = await websockets.connect(
        live.ws_url, additional_headers=live.headers, max_size=None
    )
    async with connection:
        await connection.send(json.dumps({"type": "subscribe"}))
        yield Stream(connection)


def run(scenario: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(scenario, 120))
