"""How a feed's bytes arrive, by its address's scheme: ``tcp://`` connects to a server
(an AIS or SBS-1 source, a MAVLink autopilot), ``udp://`` listens for datagrams,
``file://`` reads a recording once (at the pace it was recorded: ``replay``),
``http(s)://`` polls a document (readsb's ``aircraft.json``). Each yields pieces of
input: (datagrams or chunks, whether each piece is complete in itself)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import BinaryIO, Final
from urllib.parse import unquote, urlsplit

import httpx

from tessera.codecs.recording_time import records_for
from tessera.transports.feeds.base import FeedStatus
from tessera.transports.feeds.config import FeedConfig
from tessera.transports.feeds.pacing import Pacer, paced

CHUNK_BYTES: Final = 64 * 1024
# Datagrams waiting to be decoded, at most (more are dropped and counted: a feed
# outrunning the decoder must not grow memory without bound).
UDP_QUEUE: Final = 10_000
UDP_BATCH: Final = 500
MAX_DOCUMENT_BYTES: Final = 16 * 1024 * 1024
HTTP_TIMEOUT_S: Final = 10.0

Pieces = tuple[list[bytes], bool]


class FeedClosedError(ConnectionError):
    """The far end closed the connection."""


def pieces(config: FeedConfig, status: FeedStatus) -> AsyncGenerator[Pieces, None]:
    scheme = config.scheme
    if scheme == "tcp":
        return _tcp(config, status)
    if scheme == "udp":
        return _udp(config, status)
    if scheme == "file":
        return _file(config, status)
    return _http(config, status)


def _host_port(config: FeedConfig) -> tuple[str, int]:
    parts = urlsplit(config.address)
    assert parts.hostname is not None and parts.port is not None  # FeedConfig.problem
    return parts.hostname, parts.port


async def _tcp(config: FeedConfig, status: FeedStatus) -> AsyncGenerator[Pieces, None]:
    host, port = _host_port(config)
    reader, writer = await asyncio.open_connection(host, port)
    status.connected, status.state = True, "connected"
    try:
        while True:
            data = await reader.read(CHUNK_BYTES)
            if not data:
                raise FeedClosedError(f"{host}:{port} closed the connection")
            yield [data], False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, status: FeedStatus) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(UDP_QUEUE)
        self.status = status

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self.status.errors += 1
            self.status.problems["dropped: decoder behind"] = (
                self.status.problems.get("dropped: decoder behind", 0) + 1
            )


async def _udp(config: FeedConfig, status: FeedStatus) -> AsyncGenerator[Pieces, None]:
    host, port = _host_port(config)
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _Datagrams(status), local_addr=(host, port)
    )
    status.connected, status.state = True, "listening"
    sockname = transport.get_extra_info("sockname")
    status.bound = (str(sockname[0]), int(sockname[1]))
    try:
        while True:
            batch = [await protocol.queue.get()]
            while len(batch) < UDP_BATCH and not protocol.queue.empty():
                batch.append(protocol.queue.get_nowait())
            yield batch, True
    finally:
        transport.close()


async def _file(config: FeedConfig, status: FeedStatus) -> AsyncGenerator[Pieces, None]:
    path = Path(unquote(urlsplit(config.address).path))
    handle = await asyncio.to_thread(path.open, "rb")
    status.connected, status.state = True, "reading"
    try:
        records = records_for(config.kind) if config.replay == "paced" else None
        if records is None:
            async for data in _chunks(handle):
                yield [data], False
            return
        pacer = Pacer(config.replay_speed, asyncio.get_running_loop().time)
        async for batch in paced(_chunks(handle), records, pacer, asyncio.sleep):
            yield batch, False
    finally:
        handle.close()


async def _chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    while data := await asyncio.to_thread(handle.read, CHUNK_BYTES):
        yield data


async def _http(config: FeedConfig, status: FeedStatus) -> AsyncGenerator[Pieces, None]:
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as client:
        while True:
            response = await client.get(config.address)
            response.raise_for_status()
            if len(response.content) > MAX_DOCUMENT_BYTES:
                raise ValueError(f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
            status.connected, status.state = True, "polling"
            yield [response.content], True
            await asyncio.sleep(config.poll_s)
