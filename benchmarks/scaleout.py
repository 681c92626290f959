"""Scale-out figures, all in one run on this machine: ingest (reports/s acknowledged
durable, batches of 500 from 8 posters) and WebSocket fan-out (track updates delivered/s
to 40 subscribers, spread over the gateways, at 1,000 reports/s) on the embedded default,
on one gateway over NATS JetStream and PostGIS, and on two gateways; and, on one gateway
under a steady load, the
lag from a report's creation to its track update arriving on the gateway's stream (the
whole way: HTTP, the journal, the fusion worker, PostGIS and the change feed).

Needs the machine's NATS (4222) and PostgreSQL with PostGIS (5432); each run makes its own
database and streams and removes them. ``python benchmarks/scaleout.py``; it goes on with
``benchmarks/scaleout_fusion.py`` (a fusion worker's catch-up and lag, a gateway's memory
per track).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import scaleout_fusion  # noqa: E402
from benchmarks.cluster import deployment  # noqa: E402
from benchmarks.common import Served, encoded_batches, server_process  # noqa: E402
from benchmarks.latency import publish, subscriber  # noqa: E402

BATCH = 500
POSTERS = 8
INGEST_S = 15.0
LAG_RATE = 1000.0
LAG_S = 10.0
FANOUT_SUBSCRIBERS = 40
FANOUT_RATE = 1000.0
FANOUT_S = 10.0


async def ingest(targets: list[Served], batches: list[bytes]) -> float:
    """Reports/s acknowledged, the posters spread over ``targets``."""
    pending = list(reversed(batches))
    accepted = 0
    deadline = time.perf_counter() + INGEST_S
    headers = {"content-type": "application/json"}

    async def poster(client: httpx.AsyncClient) -> None:
        nonlocal accepted
        while pending and time.perf_counter() < deadline:
            response = await client.post("/api/v1/reports", content=pending.pop(), headers=headers)
            if response.status_code != 202:
                raise RuntimeError(f"ingest failed: {response.status_code} {response.text}")
            accepted += len(response.json()["accepted"])

    clients = [
        httpx.AsyncClient(base_url=served.url, timeout=60, headers=served.headers)
        for served in targets
    ]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(poster(clients[i % len(clients)]) for i in range(POSTERS)))
        return accepted / (time.perf_counter() - started)
    finally:
        for client in clients:
            await client.aclose()


async def lag(served: Served) -> dict[str, float]:
    stop = asyncio.Event()
    ready = asyncio.Event()
    samples: list[float] = []
    task = asyncio.create_task(subscriber(served, samples, ready, stop))
    await asyncio.wait_for(ready.wait(), 30)
    await publish(served, LAG_RATE, 2.0, prefix="warm")
    samples.clear()
    sent = await publish(served, LAG_RATE, LAG_S)
    await asyncio.sleep(2.0)
    stop.set()
    await task
    quantiles = statistics.quantiles(sorted(samples), n=100)
    return {"rate": sent / LAG_S, "p50_ms": quantiles[49] * 1000, "p99_ms": quantiles[98] * 1000}


async def fanout(targets: list[Served]) -> float:
    """WebSocket updates delivered/s to FANOUT_SUBSCRIBERS subscribers spread over
    ``targets``, while one publisher sends FANOUT_RATE reports/s through the first."""
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in range(FANOUT_SUBSCRIBERS)]
    samples: list[list[float]] = [[] for _ in range(FANOUT_SUBSCRIBERS)]
    tasks = [
        asyncio.create_task(subscriber(targets[i % len(targets)], samples[i], readies[i], stop))
        for i in range(FANOUT_SUBSCRIBERS)
    ]
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 60)
    await publish(targets[0], FANOUT_RATE, 2.0, prefix="warm")
    for sample in samples:
        sample.clear()
    started = time.perf_counter()
    await publish(targets[0], FANOUT_RATE, FANOUT_S)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*tasks)
    return sum(len(sample) for sample in samples) / elapsed


async def measure() -> dict[str, float]:
    batches = encoded_batches(int(INGEST_S * 60_000 / BATCH), BATCH, prefix="scale")
    figures: dict[str, float] = {}
    async with server_process() as served:
        figures["ingest_embedded"] = await ingest([served], batches)
    async with server_process() as served:
        figures["fanout_embedded"] = await fanout([served])
    async with deployment(1) as one:
        figures["ingest_one_gateway"] = await ingest(one, batches)
    async with deployment(1) as one:
        figures["fanout_one_gateway"] = await fanout(one)
    async with deployment(2) as two:
        figures["ingest_two_gateways"] = await ingest(two, batches)
    async with deployment(2) as two:
        figures["fanout_two_gateways"] = await fanout(two)
    async with deployment(1) as one:
        for key, value in (await lag(one[0])).items():
            figures[f"lag_{key}"] = value
    return figures


def main() -> int:
    for key, value in asyncio.run(measure()).items():
        print(f"{key}: {value:,.1f}")
    # Then one fusion worker's catch-up and lag, and a gateway's memory per track.
    return scaleout_fusion.main([])


if __name__ == "__main__":
    sys.exit(main())
