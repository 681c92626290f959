"""A gateway's memory per live track, on the scale-out backends: the resident memory
(``/proc/PID/status`` VmRSS) of ``tessera serve --role gateway`` processes holding a
picture of N tracks, against one holding none.

A fusion worker and a first gateway start on an empty deployment; then N units report
once each (32-hex report ids, as the server gives them): the first gateway follows them
on the change feed, and gateways started afterwards load them from PostGIS. A gateway
also keeps each picture's recent changes (``retained_changes``, 100,000 by default) for
clients resuming with ``since``, filled from the change feed's stream when it starts:
measured with that window as deployed, and with the tracks alone (a window of one
change, the stream purged first so nothing is replayed). Then a few units report many
times each, so their tracks carry a long lineage window (up to ``lineage_window``, 200
report ids): the first gateway follows that too, and a gateway with the tracks alone
gives what such a track costs.

Run from ``benchmarks/scaleout_fusion.py`` (``python benchmarks/scaleout_fusion.py``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec

from benchmarks import cluster
from benchmarks.common import Served, self_report

SETTLE_S = 20.0
STORED_TIMEOUT_S = 600.0


class Memory(msgspec.Struct, frozen=True):
    figures: dict[str, float]
    problems: list[str]


def utc_now() -> datetime:
    return datetime.now(UTC)


async def settled_rss(pid: int) -> int:
    """VmRSS (KiB) once it stops moving: two samples a second apart within 0.5 %, or
    after SETTLE_S."""
    deadline = time.perf_counter() + SETTLE_S
    before = cluster.rss_kib(pid)
    while time.perf_counter() < deadline:
        await asyncio.sleep(1.0)
        now = cluster.rss_kib(pid)
        if abs(now - before) <= before * 0.005:
            return now
        before = now
    return before


async def wave(fresh: cluster.Deployment, first: int, units: int, reports: int) -> int:
    """Units ``first`` .. ``first + units - 1`` report ``reports`` times each, a round at
    a time; the journal's last seq."""
    target = cluster.journal(fresh, utc_now)
    await target.open()
    try:
        last = 0
        for step in range(reports):
            when = utc_now()
            batch = [
                self_report(first + i, step, report_id=uuid.uuid4().hex, when=when)
                for i in range(units)
            ]
            last = await cluster.append_all(target, batch)
        return last
    finally:
        await target.close()


async def holds(served: Served, seq: int, timeout: float = 120.0) -> None:
    """Until the gateway's picture is at change ``seq`` (asked for an empty box, so the
    answer allocates next to nothing)."""
    params = {"bbox": "0,0,0.001,0.001"}
    async with (
        httpx.AsyncClient(base_url=served.url, headers=served.headers, timeout=30) as client,
        asyncio.timeout(timeout),
    ):
        while True:
            response = await client.get("/api/v1/tracks", params=params)
            response.raise_for_status()
            if response.json()["seq"] >= seq:
                return
            await asyncio.sleep(0.2)


async def gateway_memory(tracks: int, units: int, reports: int, logs: Path) -> Memory:
    async with cluster.scratch(logs) as fresh:
        window = fresh.settings.lineage_window
        small = fresh.root / "one-change-window.toml"
        small.write_text(fresh.config.read_text() + "retained_changes = 1\n")
        worker = await fresh.worker()
        following, served = await fresh.gateway()
        empty = await settled_rss(following.pid)
        _, seq = await cluster.wait_stored(fresh.dsn, await wave(fresh, 0, tracks, 1), 600)
        await holds(served, seq)
        followed = await settled_rss(following.pid)
        loading, _ = await fresh.gateway()
        loaded = await settled_rss(loading.pid)
        await loading.stop()
        await cluster.purge_changes(fresh)
        bare, _ = await fresh.gateway(config=small)
        alone = await settled_rss(bare.pid)
        await bare.stop()
        last = await wave(fresh, tracks, units, reports)
        _, seq = await cluster.wait_stored(fresh.dsn, last, STORED_TIMEOUT_S)
        await holds(served, seq, STORED_TIMEOUT_S)
        followed_long = await settled_rss(following.pid)
        fusing = cluster.rss_kib(worker.pid)
        await cluster.purge_changes(fresh)
        bare, _ = await fresh.gateway(config=small)
        alone_long = await settled_rss(bare.pid)
        kib = {"empty": empty, "followed": followed, "loaded": loaded, "alone": alone}
        kib |= {"followed_long": followed_long, "alone_long": alone_long}
        problems = cluster.log_problems(worker.log)
    per = 1024 / tracks
    figures = {f"gateway_{key}_mib": value / 1024 for key, value in kib.items()}
    figures |= {
        "gateway_tracks": float(tracks),
        "gateway_followed_per_track": (followed - empty) * per,
        "gateway_loaded_per_track": (loaded - empty) * per,
        "gateway_alone_per_track": (alone - empty) * per,
        "gateway_lineage": float(min(reports, window)),
        "gateway_long_tracks": float(units),
        "gateway_long_per_track": (alone_long - alone) * 1024 / units,
        "worker_after_lineage_mib": fusing / 1024,
    }
    return Memory(figures, problems)
