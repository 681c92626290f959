"""HTTP ingest throughput: reports acknowledged durable per second, batches of 500.

Baseline, measured in the same run: a journal that commits (and so fsyncs) each report on
its own, which is what ingest costs without group commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import encoded_batches, server_process

BATCH = 500
CONCURRENCY = 8


async def fused_after(client: httpx.AsyncClient, time_limit: float) -> None:
    """Wait until fusion has applied everything the journal holds."""
    deadline = time.perf_counter() + time_limit
    while time.perf_counter() < deadline:
        # The journal's position is the administrators' (it counts everyone's writes).
        status = (await client.get("/api/v1/status")).json()
        if status["fused_seq"] >= status["journal_seq"]:
            return
        await asyncio.sleep(0.01)
    raise RuntimeError("fusion did not catch up in time")


async def http_ingest(batches: list[bytes], *, time_limit: float = 60.0) -> tuple[float, float]:
    """Reports/s acknowledged (202, durable) by a server in its own process, and reports/s
    counting until fusion had applied them all."""
    async with server_process() as served:
        limits = httpx.Limits(max_connections=CONCURRENCY)
        headers = {"content-type": "application/json"}
        async with httpx.AsyncClient(
            base_url=served.url, limits=limits, timeout=60, headers=served.headers
        ) as client:
            pending = list(reversed(batches))
            accepted = 0
            deadline = time.perf_counter() + time_limit

            async def poster() -> None:
                nonlocal accepted
                while pending and time.perf_counter() < deadline:
                    body = pending.pop()
                    response = await client.post("/api/v1/reports", content=body, headers=headers)
                    if response.status_code != 202:
                        raise RuntimeError(f"ingest failed: {response.status_code} {response.text}")
                    accepted += len(response.json()["accepted"])

            started = time.perf_counter()
            await asyncio.gather(*(poster() for _ in range(CONCURRENCY)))
            acknowledged = time.perf_counter() - started
            await fused_after(client, time_limit)
            fused = time.perf_counter() - started
    return accepted / acknowledged, accepted / fused


def commit_per_report_baseline(count: int = 3000, time_limit: float = 20.0) -> float:
    """Reports/s when every report is its own durable transaction (WAL, synchronous=FULL)."""
    body = encoded_batches(1, 1, prefix="baseline")[0]
    with tempfile.TemporaryDirectory() as folder:
        conn = sqlite3.connect(Path(folder) / "baseline.sqlite3", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE journal (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, body BLOB)")
        started = time.perf_counter()
        done = 0
        while done < count and time.perf_counter() - started < time_limit:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO journal (id, body) VALUES (?, ?)", (f"r{done}", body))
            conn.execute("COMMIT")
            done += 1
        elapsed = time.perf_counter() - started
        conn.close()
    return done / elapsed


def run_once(batches: int = 200) -> dict[str, float]:
    bodies = encoded_batches(batches, BATCH, prefix=f"ingest{time.monotonic_ns()}")
    acknowledged, fused = asyncio.run(http_ingest(bodies))
    return {
        "http_ingest": acknowledged,
        "http_ingest_fused": fused,
        "commit_per_report": commit_per_report_baseline(),
    }


if __name__ == "__main__":
    print(run_once())
