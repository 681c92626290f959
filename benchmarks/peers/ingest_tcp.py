"""CoT ingest over TCP: one client sends ``count`` positions as fast as the server reads them;
an event counts once a second client, subscribed by having sent its own position, receives
it. events/s is counted from the first sending to the last arrival.

Runs in a process of its own, so that it may join a server's network namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import re
import time
from typing import Any

from benchmarks.fanout import CONNECT_PAUSE_S, SENT, position
from benchmarks.peers.procs import enter_netns

SENDER = 0
SUBSCRIBER = 1
CHUNK = 100
FIRST = 10
UID = re.compile(rb'uid="bench-([0-9]+)"')


class _Link:
    """The sender's and the subscriber's connections, and what the subscriber has seen."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.arrived: set[int] = set()
        self.last_arrival = 0.0
        self.ready = asyncio.Event()
        self.complete = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.writers: list[asyncio.StreamWriter] = []

    async def open(self, host: str, port: int) -> tuple[asyncio.StreamWriter, ...]:
        send_reader, send_writer = await asyncio.open_connection(host, port)
        sub_reader, sub_writer = await asyncio.open_connection(host, port)
        self.writers = [send_writer, sub_writer]
        self.tasks = [
            asyncio.create_task(self._receive(sub_reader)),
            asyncio.create_task(self._drain(send_reader)),
        ]
        return send_writer, sub_writer

    async def _receive(self, reader: asyncio.StreamReader) -> None:
        buffer = b""
        while data := await reader.read(1 << 16):
            buffer += data
            *events, buffer = buffer.split(b"</event>")
            for event in events:
                uid = UID.search(event)
                if uid is None or SENT.search(event) is None:
                    continue
                index = int(uid.group(1))
                if index == SENDER:
                    # The sender's own position: routing to the subscriber works.
                    self.ready.set()
                elif FIRST <= index < FIRST + self.count and index not in self.arrived:
                    # Counted once each: a server may also replay what it holds.
                    self.arrived.add(index)
                    self.last_arrival = time.time()
                    if len(self.arrived) == self.count:
                        self.complete.set()

    @staticmethod
    async def _drain(reader: asyncio.StreamReader) -> None:
        while await reader.read(1 << 16):
            pass

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def _routed(link: _Link, host: str, port: int, deadline: float) -> asyncio.StreamWriter:
    """The sender's connection once its events reach the subscriber. A server may set a
    client's subscription up asynchronously and lose it if the client's first event comes
    too early (OpenTAKServer): then both connect again, with a longer pause."""
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        send_writer, sub_writer = await link.open(host, port)
        await asyncio.sleep(CONNECT_PAUSE_S * attempt)
        for _ in range(5):
            send_writer.write(position(SENDER, time.time()))
            sub_writer.write(position(SUBSCRIBER, time.time()))
            await send_writer.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(link.ready.wait(), 1.0)
            if link.ready.is_set():
                return send_writer
        await link.close()
    raise RuntimeError("no event from the sender reached the subscriber")


async def _ingest(host: str, port: int, count: int, time_limit: float) -> dict[str, float]:
    deadline = time.monotonic() + time_limit
    link = _Link(count)
    try:
        send_writer = await _routed(link, host, port, deadline)
        first_send = time.time()
        for start in range(0, count, CHUNK):
            if time.monotonic() > deadline:
                break
            now = time.time()
            # Each event its own object (uid): a server may coalesce updates of one object.
            chunk = b"".join(
                position(FIRST + index, now) for index in range(start, min(start + CHUNK, count))
            )
            send_writer.write(chunk)
            await send_writer.drain()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(link.complete.wait(), max(0.0, deadline - time.monotonic()))
    finally:
        await link.close()
    elapsed = max(link.last_arrival - first_send, 1e-9)
    seen = len(link.arrived)
    return {"sent": count, "seen": seen, "events_per_s": seen / elapsed, "ratio": seen / count}


def _worker(args: tuple[str, int, int, float, str | None, Any]) -> None:
    host, port, count, time_limit, netns, results = args
    enter_netns(netns)
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    try:
        results.put(asyncio.run(_ingest(host, port, count, time_limit)))
    except Exception as exc:  # reported to the parent, which reports the peer
        results.put({"error": f"{type(exc).__name__}: {exc}"})


def measure_ingest(
    host: str, port: int, count: int, time_limit: float = 30.0, netns: str | None = None
) -> dict[str, float]:
    """Events/s visible to a subscriber, and the share of ``count`` that arrived."""
    results: Any = multiprocessing.Queue()
    process = multiprocessing.Process(
        target=_worker, args=((host, port, count, time_limit, netns, results),)
    )
    process.start()
    try:
        outcome: dict[str, Any] = results.get(timeout=time_limit + 60)
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()
    if "error" in outcome:
        raise RuntimeError(outcome["error"])
    return outcome
