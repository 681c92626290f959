"""Scale-out figures, all in one run on this machine: ingest (reports/s acknowledged
durable, batches of 500 from 8 posters) and WebSocket fan-out (track updates delivered/s
to 40 subscribers, spread over the gateways, at 1,000 reports/s) on the embedded default,
on one gateway over NATS JetStream and PostGIS, and on two gateways; and, on one gateway
under a steady load, the
lag from a report's creation to its track update arriving on the gateway's stream (the
whole way: HTTP, the journal, the fusion worker, PostGIS and the change feed).

Needs the machine's NATS (4222) and PostgreSQL with PostGIS (5432); each run makes its own
database and streams and removes them. ``python benchmarks/scaleout.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

from benchmarks.common import Served, encoded_batches, server_process
from benchmarks.latency import publish, subscriber
from tessera.cluster.demo import remove_streams, settings_text
from tessera.core.model import Label, Principal, Role
from tessera.postgis.migrate import migrate
from tessera.security import tokens
from tessera.security.postgis import PostgisSecurityStore

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
NATS = "nats://127.0.0.1:4222"
BATCH = 500
POSTERS = 8
INGEST_S = 15.0
LAG_RATE = 1000.0
LAG_S = 10.0
FANOUT_SUBSCRIBERS = 40
FANOUT_RATE = 1000.0
FANOUT_S = 10.0
BENCH = Principal(
    name="bench",
    clearance="SECRET",
    unrestricted=True,
    roles=(Role.VIEWER, Role.REPORTER),
    default_label=Label("UNCLASSIFIED"),
)


@contextlib.asynccontextmanager
async def deployment(gateways: int) -> AsyncIterator[list[Served]]:
    """A fusion worker and ``gateways`` gateways on a fresh database and fresh streams."""
    name = f"bench{secrets.token_hex(3)}"
    database = f"tessera_{name}"
    dsn = f"{POSTGRES}/{database}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    processes: list[asyncio.subprocess.Process] = []
    try:
        migrate(dsn)
        store = PostgisSecurityStore(dsn)
        await store.open()
        await store.add_principal(BENCH)
        issued = tokens.issue(BENCH.name, now=datetime.now(UTC), expires_at=None)
        await store.add_token(issued.record)
        await store.close()
        with tempfile.TemporaryDirectory(prefix="tessera-scaleout-") as root:
            config = Path(root) / "tessera.toml"
            config.write_text(settings_text(dsn, NATS, name, demo_pictures=False))
            await start(config, Path(root), "fusion", processes)
            urls = [await start(config, Path(root), "gateway", processes) for _ in range(gateways)]
            yield [Served(url, issued.token) for url in urls]
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            await process.wait()
        await remove_streams(NATS, name)
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )


async def start(
    config: Path, root: Path, role: str, processes: list[asyncio.subprocess.Process]
) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tessera.cli", "serve", "--role", role, "--config", str(config),
        "--data", str(root / f"{role}-{len(processes)}"), "--http-port", "0",
        "--cot-tls-port", "0", "--log-level", "warning",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    processes.append(process)
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode().strip()
        if not line:
            raise RuntimeError(f"the {role} process stopped before it started")
        if role == "fusion" and line == "fusion caught up":
            return ""
        if role == "gateway" and line.startswith("listening http "):
            return "http://" + line.removeprefix("listening http ")


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
    await publish(served, LAG_RATE, 2.0)
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
    await publish(targets[0], FANOUT_RATE, 2.0)
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


if __name__ == "__main__":
    for key, value in asyncio.run(measure()).items():
        print(f"{key}: {value:,.1f}")
