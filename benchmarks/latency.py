"""Ingest-to-WebSocket latency: from a report's creation, through HTTP ingest, the durable
journal, fusion and fan-out, to its track update arriving at each of 50 subscribers.

Each report is stamped with its creation time as ``observed_at``; a self-report updates
its track to exactly that time, so a subscriber's latency for an update is the arrival time
minus the feature's ``updated_at``. Subscribers get coalesced updates (the latest state per
track), so every update they receive counts, and intermediate ones they never see do not.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import websockets

from benchmarks.common import Served, server_process, unit_report

SUBSCRIBERS = 50
UNITS = 500
TICK_S = 0.05


class Feature(msgspec.Struct):
    properties: dict[str, Any]


class Message(msgspec.Struct):
    type: str
    upserts: list[Feature] = []


_decoder = msgspec.json.Decoder(Message)


async def subscriber(
    served: Served, latencies: list[float], ready: asyncio.Event, stop: asyncio.Event
) -> None:
    ws_url = served.url.replace("http://", "ws://") + "/api/v1/stream"
    async with websockets.connect(
        ws_url, max_size=None, compression=None, additional_headers=served.headers
    ) as connection:
        await connection.send(b'{"type": "subscribe"}'.decode())
        ready.set()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(connection.recv(), 0.5)
            except TimeoutError:
                continue
            arrived = time.time()
            message = _decoder.decode(raw)
            if message.type != "changes":
                continue
            for feature in message.upserts:
                updated = datetime.fromisoformat(feature.properties["updated_at"])
                latencies.append(arrived - updated.timestamp())


async def publish(served: Served, rate: float, duration: float, *, prefix: str = "lat") -> int:
    """POST a batch every TICK_S at ``rate`` reports/s for ``duration`` seconds; report
    ids start with ``prefix`` (a warm-up takes its own: the journal would drop the
    measured window's reports as repeats of the warm-up's)."""
    per_tick = max(1, round(rate * TICK_S))
    sent = 0
    async with httpx.AsyncClient(base_url=served.url, timeout=30, headers=served.headers) as client:
        started = time.perf_counter()
        tick = 0
        while time.perf_counter() - started < duration:
            now = datetime.now(UTC)
            docs = [
                unit_report((sent + i) % UNITS, (sent + i) // UNITS, prefix=prefix, when=now)
                for i in range(per_tick)
            ]
            response = await client.post("/api/v1/reports", json=docs)
            response.raise_for_status()
            sent += per_tick
            tick += 1
            delay = started + tick * TICK_S - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
    return sent


async def measure(
    rate: float = 2000.0, duration: float = 10.0, warmup: float = 2.0
) -> dict[str, float]:
    async with server_process() as served:
        stop = asyncio.Event()
        samples: list[list[float]] = [[] for _ in range(SUBSCRIBERS)]
        readies = [asyncio.Event() for _ in range(SUBSCRIBERS)]
        tasks = [
            asyncio.create_task(subscriber(served, samples[i], readies[i], stop))
            for i in range(SUBSCRIBERS)
        ]
        await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 30)
        await publish(served, rate, warmup, prefix="warm")
        for sample in samples:
            sample.clear()
        started = time.perf_counter()
        sent = await publish(served, rate, duration)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*tasks)
    latencies = sorted(value for sample in samples for value in sample)
    if not latencies:
        raise RuntimeError("no updates arrived")
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "rate": sent / elapsed,
        "deliveries": len(latencies) / elapsed,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
    }


def run_once() -> dict[str, float]:
    return asyncio.run(measure())


if __name__ == "__main__":
    print(run_once())
