"""A loopback TCP proxy that makes a link as bad as a field link: latency, loss, a
bandwidth cap and outages. Used by the federation tests and ``benchmarks/federation.py``.

What each impairment means for a TCP stream (the proxy carries bytes, not packets, and
a stream never loses bytes, so loss is what TCP turns it into):
- ``latency_s``: every piece of the stream arrives this much later (one way).
- ``rate_bps``: each direction is paced to this many bits per second (serialised in
  ``PACKET`` byte packets, as a link of that speed would).
- ``loss``: the fraction of packets lost; TCP resends a lost packet after its
  retransmission timeout, and everything behind it waits (head-of-line blocking), so a
  lost packet holds the stream back ``rto_s``. ``resets``: the fraction of packets
  after which the connection is reset (a link so bad TCP gives up), exercising resumes.
- an outage (``cut``/``restore``): every connection is reset and new ones are refused
  (accepted and reset at once) until it is restored: the cut of a satellite terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

PACKET = 1200
READ_SIZE = 16 * 1024
Tap = Callable[[int, str, bytes], None]  # connection number, "up" or "down", bytes


@dataclass(frozen=True)
class Impairment:
    latency_s: float = 0.0
    rate_bps: int | None = None
    loss: float = 0.0
    rto_s: float = 0.2
    resets: float = 0.0
    seed: int = 0


@dataclass
class ProxyCounters:
    connections: int = 0
    refused: int = 0
    resets: int = 0
    lost_packets: int = 0
    bytes: dict[str, int] = field(default_factory=lambda: {"up": 0, "down": 0})


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (linger 0), as a cut link looks to the far end."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


class ImpairedProxy:
    def __init__(
        self, target: tuple[str, int], impairment: Impairment, tap: Tap | None = None
    ) -> None:
        self.target = target
        self.impairment = impairment
        self.tap = tap
        self.counters = ProxyCounters()
        self.port = 0
        self._random = random.Random(impairment.seed)
        self._server: asyncio.Server | None = None
        self._cut = False
        self._connections: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cut(self) -> None:
        """An outage begins: every connection is reset, new ones refused."""
        self._cut = True
        for writer in list(self._writers):
            _reset(writer)
        for task in list(self._connections):
            task.cancel()

    def restore(self) -> None:
        self._cut = False

    async def stop(self) -> None:
        self.cut()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            self._server.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            self.counters.refused += 1
            _reset(writer)
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self.counters.connections += 1
        number = self.counters.connections
        upstream: asyncio.StreamWriter | None = None
        try:
            up_reader, upstream = await asyncio.open_connection(*self.target)
            self._writers.update((writer, upstream))
            pumps = [
                asyncio.create_task(self._pump(reader, upstream, number, "up")),
                asyncio.create_task(self._pump(up_reader, writer, number, "down")),
            ]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for end in (writer, upstream):
                if end is not None:
                    self._writers.discard(end)
                    _reset(end)
            self._connections.discard(task)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int, way: str
    ) -> None:
        """Read, schedule each packet's arrival, deliver in order at that time."""
        impairment, loop = self.impairment, asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes, bool] | None] = asyncio.Queue()
        free_at = 0.0  # when the link has sent everything before

        async def deliver() -> None:
            while (entry := await queue.get()) is not None:
                due, packet, reset = entry
                await asyncio.sleep(max(0.0, due - loop.time()))
                if self.tap is not None:
                    self.tap(number, way, packet)
                self.counters.bytes[way] += len(packet)
                writer.write(packet)
                await writer.drain()
                if reset:
                    # The other pump, reading this connection's far end, sees it end.
                    self.counters.resets += 1
                    _reset(writer)
                    return

        delivering = asyncio.create_task(deliver())
        try:
            while data := await reader.read(READ_SIZE):
                for start in range(0, len(data), PACKET):
                    packet = data[start : start + PACKET]
                    now = loop.time()
                    send = len(packet) * 8 / impairment.rate_bps if impairment.rate_bps else 0.0
                    free_at = max(free_at, now) + send
                    due = free_at + impairment.latency_s
                    if self._random.random() < impairment.loss:
                        self.counters.lost_packets += 1
                        free_at += impairment.rto_s  # resent after the timeout; all wait
                        due += impairment.rto_s
                    reset = self._random.random() < impairment.resets
                    queue.put_nowait((due, packet, reset))
                    if delivering.done():
                        break
                if delivering.done():
                    break
            queue.put_nowait(None)
            await delivering
        finally:
            delivering.cancel()
            with contextlib.suppress(BaseException):
                await delivering
