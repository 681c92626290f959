"""Tessera against the servers people already run, on the same load, in the same run:
FreeTAKServer and OpenTAKServer for CoT fan-out and CoT ingest over TCP, pygeoapi for OGC
API - Features. Writes its figures to build/peers/results.json and, with --write, to
BENCHMARKS.md (the summary table at the top and the "Against the peers" section).

    python -m benchmarks.peers.bench [--quick] [--write] [--servers tessera,fts,ots]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from benchmarks.fanout import measure_at
from benchmarks.peers import ogc
from benchmarks.peers.ingest_tcp import measure_ingest
from benchmarks.peers.install import ROOT
from benchmarks.peers.procs import cpu_seconds, rss_bytes
from benchmarks.peers.servers import SERVERS, Running, describe

RESULTS = ROOT / "build" / "peers" / "results.json"
FLOOR = 0.5  # below this delivery ratio a server is not stepped further


@dataclass(frozen=True)
class Plan:
    steps: tuple[int, ...]
    seconds: float
    warmup: float
    ingest_events: int
    ingest_limit: float
    ogc_tracks: int
    ogc_queries: int


FULL = Plan((10, 50, 100, 250, 500), 15.0, 5.0, 2_000, 60.0, 10_000, 200)
QUICK = Plan((5,), 4.0, 3.0, 200, 20.0, 300, 10)


@contextmanager
def resources(running: Running) -> Iterator[dict[str, float]]:
    """The server's CPU (% of one core, over the block) and peak RSS, summed over its
    processes, sampled twice a second."""
    figures: dict[str, float] = {"peak_rss_mb": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            rss = rss_bytes(running.pids()) / 2**20
            figures["peak_rss_mb"] = max(figures["peak_rss_mb"], rss)

    sampler = threading.Thread(target=sample, daemon=True)
    started, cpu = time.monotonic(), cpu_seconds(running.pids())
    sampler.start()
    try:
        yield figures
    finally:
        figures["cpu_percent"] = (
            100 * (cpu_seconds(running.pids()) - cpu) / (time.monotonic() - started)
        )
        done.set()
        sampler.join()


def fanout_steps(name: str, plan: Plan, log: Any) -> dict[str, Any]:
    """Fan-out at each N on a freshly started server, until it delivers under FLOOR."""
    rows: list[dict[str, Any]] = []
    outcome: dict[str, Any] = {"rows": rows}
    for clients in plan.steps:
        print(f"fan-out {name} N={clients} ...", file=log, flush=True)
        try:
            with SERVERS[name]() as running:
                outcome["describe"] = describe(running)
                outcome["settings"] = running.settings
                with resources(running) as usage:
                    figures = measure_at(
                        running.host, running.port, clients, plan.seconds, plan.warmup,
                        running.netns,
                    )  # fmt: skip
                running.check_alive()
            rows.append({**figures, **usage})
        except Exception as exc:  # a peer that fails is reported with its error
            outcome["error"] = f"at N={clients}: {type(exc).__name__}: {exc}"
            break
        if figures["delivery_ratio"] < FLOOR:
            outcome["stopped"] = f"stopped after N={clients}: delivered under {FLOOR:.0%}"
            break
    return outcome


def ingest(name: str, plan: Plan, log: Any) -> dict[str, Any]:
    print(f"ingest {name} ...", file=log, flush=True)
    try:
        with SERVERS[name]() as running:
            with resources(running) as usage:
                figures = measure_ingest(
                    running.host, running.port, plan.ingest_events, plan.ingest_limit,
                    running.netns,
                )  # fmt: skip
            running.check_alive()
        return {**figures, **usage}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def run(plan: Plan, names: list[str], log: Any = sys.stderr) -> dict[str, Any]:
    results: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "plan": plan.__dict__,
        "fanout": {name: fanout_steps(name, plan, log) for name in names},
        "ingest": {name: ingest(name, plan, log) for name in names},
    }
    print("OGC API - Features ...", file=log, flush=True)
    try:
        results["ogc"] = ogc.measure(plan.ogc_tracks, plan.ogc_queries)
    except Exception as exc:
        results["ogc"] = {"error": f"{type(exc).__name__}: {exc}"}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small N, seconds each")
    parser.add_argument("--write", action="store_true", help="write BENCHMARKS.md")
    parser.add_argument("--servers", default=",".join(SERVERS))
    args = parser.parse_args()
    started = time.monotonic()
    results = run(QUICK if args.quick else FULL, args.servers.split(","))
    results["minutes"] = (time.monotonic() - started) / 60
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    print(f"wrote {RESULTS}", file=sys.stderr)
    if args.write:
        from benchmarks.peers.report import write

        write(results, ROOT / "BENCHMARKS.md")
        print("wrote BENCHMARKS.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
