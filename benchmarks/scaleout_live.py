"""A caught-up fusion worker following the journal at steady rates: the lag from an
append's acknowledgement to the change carrying that report arriving on the NATS change
feed. Run from ``benchmarks/scaleout_fusion.py``.

Unit self-reports, a unit per report a second at each rate (each unit once a second),
appended by the benchmark process through its own ``JetStreamJournal`` (as a gateway
does, up to ``MAX_IN_FLIGHT`` appends at a time, one every ``TICK_S``); the send time is
kept beside them (report id to the append's acknowledgement), not in the report. A
change's report is found by its track's subject and update time (a unit's report's
observation time; each unit reports once per tick): lineage does not travel on the feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime

import msgspec

from benchmarks import cluster
from benchmarks.common import self_report
from tessera.bus.base import Subscriber
from tessera.bus.nats import NatsBus
from tessera.core.model import Report
from tessera.journal.base import Journal
from tessera.store.base import TrackQuery

TICK_S = 0.05
MAX_IN_FLIGHT = 16


class Window(msgspec.Struct, frozen=True):
    warmup_s: float  # at each rate, before the window
    live_s: float  # measured at each rate
    drain_s: float  # at most, after each window, for the last changes


def utc_now() -> datetime:
    return datetime.now(UTC)


class Follower:
    """The change feed as a subscriber of the benchmark's sees it: when the change
    carrying each report (by its unit and observation time) first arrived."""

    def __init__(self, fresh: cluster.Deployment) -> None:
        settings = fresh.settings
        self.picture = settings.pictures[0].name
        self.bus = NatsBus(
            settings.nats_servers,
            [self.picture],
            retained=1,
            stream=settings.changes_stream,
            prefix=settings.changes_prefix,
        )
        self.subscriber = Subscriber(TrackQuery(), visible=None)
        self.arrived: dict[str, float] = {}
        # (subject, observation time in ms) -> the report that carries it
        self.sent: dict[tuple[str, int], str] = {}
        self.prefix = f"l{secrets.token_hex(3)}-"
        self._task: asyncio.Task[None] | None = None

    async def open(self, seq: int, timeout: float = 120.0) -> None:
        """Follow the feed, once what it retains up to change ``seq`` has been read (the
        bus starts from the stream's beginning: none of that is timed)."""
        await self.bus.open()
        self.bus.attach(self.picture, self.subscriber, None)
        self._task = asyncio.create_task(self._follow(), name="follower")
        for _ in range(int(timeout * 10)):
            if self.bus.last_seq(self.picture) >= seq:
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"the change feed did not reach change {seq} in {timeout:g} s")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.bus.detach(self.picture, self.subscriber)
        await self.bus.close()

    def expect(self, report: Report) -> None:
        assert report.subject is not None
        self.sent[(report.subject, _ms(report.observed_at))] = report.id

    async def _follow(self) -> None:
        sent, arrived = self.sent, self.arrived
        while True:
            changes = await self.subscriber.take()
            now = time.perf_counter()
            for change in changes:
                track = change.track
                if track is None or track.subject is None:
                    continue
                report_id = sent.get((track.subject, _ms(track.updated_at)))
                if report_id is not None:
                    arrived.setdefault(report_id, now)


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


async def steady(
    target: Journal, follower: Follower, rate: float, window: Window, worker: int
) -> dict[str, float]:
    """``rate`` reports a second for the warm-up and the window (bounded in time and
    count), then until each unit's last report has arrived (at most the drain); lag
    figures over the reports sent in the window, and the share of a core the worker
    (pid ``worker``) and this process used while sending."""
    per_tick = max(1, round(rate * TICK_S))
    units = max(per_tick, int(rate))
    acked: dict[str, float] = {}
    measured: list[str] = []
    final: dict[int, str] = {}  # each unit's last report in the window
    tasks: set[asyncio.Task[None]] = set()

    async def send(batch: list[Report]) -> None:
        await target.append(batch)
        now = time.perf_counter()
        for report in batch:
            acked[report.id] = now

    began, used, own = time.perf_counter(), cluster.cpu_seconds(worker), _own_cpu()
    opens = began + window.warmup_s
    ends = opens + window.live_s
    limit = int(rate * (window.warmup_s + window.live_s)) + per_tick
    sent = tick = 0
    while (now := time.perf_counter()) < ends and sent < limit:
        when = utc_now()
        batch = []
        for serial in range(sent, sent + per_tick):
            step, unit = divmod(serial, units)
            report_id = f"{follower.prefix}{int(rate)}-{serial}"
            report = self_report(unit, step, report_id=report_id, when=when)
            follower.expect(report)
            batch.append(report)
            if now >= opens:
                measured.append(report_id)
                final[unit] = report_id
        sent += per_tick
        while len(tasks) >= MAX_IN_FLIGHT:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.create_task(send(batch))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        tick += 1
        await asyncio.sleep(max(0.0, began + tick * TICK_S - time.perf_counter()))
    if tasks:
        await asyncio.gather(*tasks)
    took = time.perf_counter() - began
    cpu = {
        "worker_cpu": (cluster.cpu_seconds(worker) - used) / took,
        "bench_cpu": (_own_cpu() - own) / took,
    }
    # A report's own change may be coalesced into a later one of its track (the feed
    # sends the latest state): each unit's last report always comes.
    quiet = time.perf_counter() + window.drain_s
    pending = [i for i in final.values() if i not in follower.arrived]
    while pending and time.perf_counter() < quiet:
        await asyncio.sleep(0.05)
        pending = [i for i in pending if i not in follower.arrived]
    return lag_figures(measured, list(final.values()), acked, follower.arrived, window) | cpu


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def lag_figures(
    measured: list[str],
    final: list[str],
    acked: dict[str, float],
    arrived: dict[str, float],
    window: Window,
) -> dict[str, float]:
    lags = [arrived[i] - acked[i] for i in measured if i in arrived and i in acked]
    if len(lags) < 2:
        raise RuntimeError(f"only {len(lags)} of {len(measured)} reports' changes arrived")
    tenth = max(1, len(measured) // 10)
    first = [arrived[i] - acked[i] for i in measured[:tenth] if i in arrived]
    last = [arrived[i] - acked[i] for i in measured[-tenth:] if i in arrived]
    quantiles = statistics.quantiles(lags, n=100)
    first_ms = statistics.median(first) * 1000 if first else math.inf
    last_ms = statistics.median(last) * 1000 if last else math.inf
    complete = all(i in arrived for i in final)
    return {
        "rate": sum(1 for i in measured if i in acked) / window.live_s,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
        "min_ms": min(lags) * 1000,
        "max_ms": max(lags) * 1000,
        "first_ms": first_ms,
        "last_ms": last_ms,
        # Reports whose own change arrived (the others were coalesced into a newer one).
        "arrived": len(lags) / len(measured),
        # Kept up: every unit's last report arrived within the drain, and the lag did not
        # grow by more than a second from the window's first tenth to its last.
        "kept_up": float(complete and last_ms <= first_ms + 1000),
    }


async def live(
    fresh: cluster.Deployment, rates: tuple[float, ...], window: Window
) -> dict[str, float]:
    """Each rate in turn; figures keyed ``live_RATE_...``."""
    follower = Follower(fresh)
    _, seq = await cluster.wait_stored(fresh.dsn, 0, 60)
    await follower.open(seq)
    target = cluster.journal(fresh, utc_now)
    await target.open()
    worker = fresh.processes[0].pid
    figures: dict[str, float] = {}
    try:
        for rate in rates:
            print(f"scaleout-fusion: live at {rate:,.0f} reports/s ...", file=sys.stderr)
            for key, value in (await steady(target, follower, rate, window, worker)).items():
                figures[f"live_{rate:.0f}_{key}"] = value
    finally:
        await target.close()
        await follower.close()
    return figures
