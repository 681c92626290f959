"""A loopback port on this machine that reaches a server inside another network namespace
(FreeTAKServer runs in one of its own): each connection accepted here is joined to one
opened inside the namespace, by a thread that has entered it (a network namespace is
per thread, and a socket stays in the namespace it was made in)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from benchmarks.peers.procs import enter_netns

CHUNK = 65536


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def netns_bridge(netns: str, host: str, port: int) -> AsyncIterator[int]:
    """The loopback port (on 127.0.0.1) that reaches ``host:port`` in ``netns``."""
    executor = ThreadPoolExecutor(1, initializer=enter_netns, initargs=(netns,))
    loop = asyncio.get_running_loop()
    pipes: set[asyncio.Task[None]] = set()

    def inside() -> socket.socket:
        sock = socket.create_connection((host, port), timeout=10)
        sock.setblocking(False)
        return sock

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            far = await loop.run_in_executor(executor, inside)
        except OSError:
            writer.close()
            return
        far_reader, far_writer = await asyncio.open_connection(sock=far)
        for task in (
            asyncio.create_task(_pipe(reader, far_writer)),
            asyncio.create_task(_pipe(far_reader, writer)),
        ):
            pipes.add(task)
            task.add_done_callback(pipes.discard)

    server = await asyncio.start_server(accepted, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in list(pipes):
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
        executor.shutdown(wait=True)
