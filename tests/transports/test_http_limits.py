"""Connections that never finish a request head are closed; open connections are bounded."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.support import Live, live_server

HEAD_TIMEOUT_S = 0.5
# How long a test waits for what the server must do within HEAD_TIMEOUT_S: far longer,
# so a busy machine never fails it; a server that never closes still fails it.
DEADLINE_S = 20.0
HEALTH = b"GET /api/v1/health HTTP/1.1\r\nHost: tessera\r\n\r\n"


def run_live(tmp_path: Path, scenario: Any, **overrides: Any) -> None:
    async def main() -> None:
        async with live_server(tmp_path, **overrides) as live:
            await asyncio.wait_for(scenario(live), 60)

    asyncio.run(main())


@contextlib.asynccontextmanager
async def connection(
    live: Live,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    host, port = live.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        yield reader, writer
    finally:
        writer.close()


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Whether the server closes the connection (EOF) within the deadline, reading and
    discarding whatever comes first."""
    try:
        async with asyncio.timeout(DEADLINE_S):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


async def trickled_until_closed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Send a request head one byte at a time, each well within the head's timeout, until
    the server closes the connection; False if it is still open at the deadline."""
    head = b"GET /api/v1/health HTTP/1.1\r\nHost: tessera\r\nX-Padding: " + b"a" * 10_000
    loop = asyncio.get_running_loop()
    until = loop.time() + DEADLINE_S
    for byte in head:
        if loop.time() > until:
            return False
        try:
            writer.write(bytes([byte]))
            await writer.drain()
            # The pace of the trickle: a byte whenever nothing comes back for a tenth of
            # the head's timeout. The answer it waits for is the server's EOF.
            if await asyncio.wait_for(reader.read(1), HEAD_TIMEOUT_S / 10) == b"":
                return True
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


async def read_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head + await reader.readexactly(length)


def test_silent_connections_are_closed(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        async with contextlib.AsyncExitStack() as stack:
            silent = [await stack.enter_async_context(connection(live)) for _ in range(20)]
            closed = await asyncio.gather(*(closed_by_server(reader) for reader, _ in silent))
        assert all(closed)

    run_live(tmp_path, scenario, http_header_timeout_s=HEAD_TIMEOUT_S)


@pytest.mark.parametrize("after_a_response", [False, True])
def test_a_trickled_request_head_is_cut_off(tmp_path: Path, after_a_response: bool) -> None:
    async def scenario(live: Live) -> None:
        async with connection(live) as (reader, writer):
            if after_a_response:
                # A kept-alive connection: uvicorn's keep-alive timer stops at the next byte.
                writer.write(HEALTH)
                assert (await read_response(reader)).startswith(b"HTTP/1.1 200")
            assert await trickled_until_closed(reader, writer)

    run_live(tmp_path, scenario, http_header_timeout_s=HEAD_TIMEOUT_S)


def test_requests_and_streams_outlive_the_head_timeout(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        loop = asyncio.get_running_loop()
        async with live.client() as client:
            assert (await client.get("/api/v1/health")).status_code == 200
            async with websockets.connect(live.ws_url, additional_headers=live.headers) as ws:
                await ws.send(json.dumps({"type": "subscribe"}))
                assert json.loads(await ws.recv())["type"] == "snapshot"
                # Heartbeats keep coming well past the head's timeout.
                until = loop.time() + 4 * HEAD_TIMEOUT_S
                while loop.time() < until:
                    assert json.loads(await ws.recv())["type"] == "heartbeat"
                # The kept-alive HTTP connection still answers too.
                assert (await client.get("/api/v1/me")).status_code == 200

    run_live(tmp_path, scenario, http_header_timeout_s=HEAD_TIMEOUT_S, heartbeat_s=0.1)


def test_past_the_connection_limit_requests_and_streams_get_503(tmp_path: Path) -> None:
    async def scenario(live: Live) -> None:
        # uvicorn counts the asking connection itself: with a limit of 2, one stream open
        # leaves no room for another connection.
        async with websockets.connect(live.ws_url, additional_headers=live.headers) as stream:
            await stream.send(json.dumps({"type": "subscribe"}))
            assert json.loads(await stream.recv())["type"] == "snapshot"
            async with httpx.AsyncClient(base_url=live.base_url) as client:
                assert (await client.get("/api/v1/health")).status_code == 503
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with websockets.connect(live.ws_url, additional_headers=live.headers):
                    pass
            assert refused.value.response.status_code == 503
            # The open stream goes on.
            assert json.loads(await stream.recv())["type"] == "heartbeat"
        # Once it has gone, there is room again.
        async with asyncio.timeout(DEADLINE_S), httpx.AsyncClient(base_url=live.base_url) as client:
            answer = await client.get("/api/v1/health")
            while answer.status_code == 503:
                answer = await client.get("/api/v1/health")
            assert answer.status_code == 200

    run_live(tmp_path, scenario, http_max_connections=2, heartbeat_s=0.1)
