"""Frames over one connection: a rate cap on what is written, byte counts both ways."""

from __future__ import annotations

import asyncio
import time

from tessera.codecs.federation import Frame, FrameReader, FrameWriter
from tessera.federation.status import LinkStatus

READ_SIZE = 64 * 1024


class TokenBucket:
    """At most ``rate_bps`` bits per second on average, bursts of ``burst`` bytes."""

    def __init__(self, rate_bps: int, burst: int = 4096) -> None:
        self._rate = rate_bps / 8.0  # bytes per second
        self._burst = float(burst)
        self._tokens = float(burst)
        self._at = time.monotonic()

    async def take(self, size: int) -> None:
        """Wait until ``size`` bytes may go (a frame larger than the burst goes once the
        bucket is full, leaving it in debt: the average holds)."""
        while True:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
            self._at = now
            need = min(float(size), self._burst)
            if self._tokens >= need:
                self._tokens -= size
                return
            await asyncio.sleep((need - self._tokens) / self._rate)


class FrameStream:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        status: LinkStatus,
        bucket: TokenBucket | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.status = status
        self._bucket = bucket
        self._out = FrameWriter()
        self._in = FrameReader()
        self._ready: list[Frame] = []

    async def send(self, frame: Frame) -> None:
        data = self._out.frame(frame)
        if self._bucket is not None:
            await self._bucket.take(len(data))
        self._writer.write(data)
        self.status.bytes_out += len(data)
        await self._writer.drain()

    async def receive(self, timeout: float) -> Frame:
        """The next frame; TimeoutError, ConnectionError at the end of the stream,
        FrameError for bytes that are no frame."""
        async with asyncio.timeout(timeout):
            while not self._ready:
                data = await self._reader.read(READ_SIZE)
                if not data:
                    raise ConnectionResetError("the peer closed the connection")
                self.status.bytes_in += len(data)
                self._ready.extend(self._in.feed(data))
        return self._ready.pop(0)

    async def close(self) -> None:
        self._writer.close()
        try:
            async with asyncio.timeout(2.0):
                await self._writer.wait_closed()
        except (OSError, TimeoutError):
            pass
