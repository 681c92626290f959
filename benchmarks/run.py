"""Run every benchmark a few times and write the medians to BENCHMARKS.md.

Usage: python benchmarks/run.py [--repeats N] [--no-write] [--peers]

With --peers it also measures the peer servers (benchmarks/peers/bench.py, as `make
bench-peers` does); without, the peers' section and the summary table at the top are
rebuilt from their last run (build/peers/results.json), with this run's fusion figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import fanout, fusion, fusion_compare, ingest, latency  # noqa: E402
from benchmarks.common import machine  # noqa: E402
from benchmarks.peers import bench as peers_bench  # noqa: E402
from benchmarks.peers.report import refresh_summary  # noqa: E402
from benchmarks.peers.servers import SERVERS  # noqa: E402

FANOUT_CLIENTS = 500
FANOUT_SECONDS = 20.0


SCALE_OUT = "## Scale-out"
RETENTION = "## Journal retention"
# Written by benchmarks/embedded_restart.py --write.
EMBEDDED_RESTART = "## Embedded restart"
# Written by hand from `python benchmarks/demo_memory.py` (thirty minutes of real time).
DEMO_MEMORY = "## The demo's memory"
# Written by benchmarks/peers/bench.py (`make bench-peers`).
PEERS = "## Against the peers"
# Written by benchmarks/map_fps.py --write (a headless browser panning the web map).
MAP_FPS = "## Map frame rate"
# Written by benchmarks/feeds.py --write.
FEEDS = "## Sensor feeds"
# Written by benchmarks/federation.py --write (a 10-minute outage: about 15 minutes).
FEDERATION = "## Federation over a degraded link"
# Sections written by their own scripts, kept as they are.
KEPT = (SCALE_OUT, RETENTION, EMBEDDED_RESTART, DEMO_MEMORY, PEERS, MAP_FPS, FEEDS, FEDERATION)


def kept_section(path: Path, heading: str = SCALE_OUT) -> str:
    """The section under ``heading`` in the file as it is, up to the next section (empty
    if none): the scale-out figures come from ``benchmarks/scaleout.py``, not from here,
    and stay as they were written."""
    old = path.read_text() if path.exists() else ""
    start = old.find("\n" + heading)
    if start < 0:
        return ""
    end = old.find("\n## ", start + 1)
    return old[start + 1 : len(old) if end < 0 else end + 1]


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--repeats", type=int, default=3)
    options.add_argument("--no-write", action="store_true")
    options.add_argument("--peers", action="store_true", help="measure the peer servers too")
    args = options.parse_args()
    if args.peers:
        peer_results = peers_bench.run(peers_bench.FULL, list(SERVERS))
        peers_bench.RESULTS.parent.mkdir(parents=True, exist_ok=True)
        peers_bench.RESULTS.write_text(json.dumps(peer_results, indent=1))

    ingest_runs, latency_runs = [], []
    for attempt in range(1, args.repeats + 1):
        print(f"[{attempt}/{args.repeats}] ingest ...", file=sys.stderr, flush=True)
        ingest_runs.append(ingest.run_once())
        print(f"[{attempt}/{args.repeats}] latency ...", file=sys.stderr, flush=True)
        latency_runs.append(latency.run_once())

    fanout_runs, relay_runs = [], []
    for attempt in range(1, args.repeats + 1):
        print(f"[{attempt}/{args.repeats}] CoT fan-out ...", file=sys.stderr, flush=True)
        fanout_runs.append(fanout.measure(FANOUT_CLIENTS, FANOUT_SECONDS))
        relay_runs.append(fanout.measure(FANOUT_CLIENTS, FANOUT_SECONDS, target="baseline"))

    throughput_runs = []
    for attempt in range(1, args.repeats + 1):
        print(f"[{attempt}/{args.repeats}] fusion throughput ...", file=sys.stderr, flush=True)
        throughput_runs.append(fusion.throughput())
    comparison = fusion_compare.compare_all(fusion_compare.FULL)
    print("fusion: a million reports ...", file=sys.stderr, flush=True)
    million = fusion.million()

    http = median_of(ingest_runs, "http_ingest")
    fused = median_of(ingest_runs, "http_ingest_fused")
    baseline = median_of(ingest_runs, "commit_per_report")
    p50 = median_of(latency_runs, "p50_ms")
    p99 = median_of(latency_runs, "p99_ms")
    rate = median_of(latency_runs, "rate")
    deliveries = median_of(latency_runs, "deliveries")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    tak = {key: median_of(fanout_runs, key) for key in fanout_runs[0]}
    bare = {key: median_of(relay_runs, key) for key in relay_runs[0]}
    text = f"""# Benchmarks

Latest figures, measured {when} with `make bench` (`python benchmarks/run.py`), medians
of {args.repeats} runs. Each run starts its own `tessera serve` process on a fresh data
folder; the load comes from the benchmark process on the same machine, over loopback.

Machine: {machine()}.

## Ingest (HTTP, acknowledged durable)

`POST /api/v1/reports`, batches of {ingest.BATCH} reports (four in five unit self-reports,
one in five drone sightings), {ingest.CONCURRENCY} requests in flight; a report counts once
its batch is answered 202, i.e. after the journal's commit. Fusion runs in the same process.

| what | reports/s | ratio |
|---|---:|---:|
| Tessera: HTTP ingest, group commit (acknowledged durable) | {http:,.0f} | {http / baseline:.1f}x |
| Tessera: the same, counted until fused | {fused:,.0f} | {fused / baseline:.1f}x |
| baseline: one SQLite commit per report (WAL, synchronous=FULL), no HTTP | {baseline:,.0f} | 1.0x |

Target: at least 20,000 reports/s.

## Ingest to WebSocket latency

{latency.SUBSCRIBERS} WebSocket subscribers to the whole picture (no compression); unit
self-reports posted every {latency.TICK_S * 1000:.0f} ms at {rate:,.0f} reports/s over
{latency.UNITS} units. Latency is from the report's creation (before its POST) to the
arrival of the track update it caused at a subscriber: HTTP ingest, durable journal,
fusion, change feed and fan-out included.

| rate (reports/s) | subscribers | updates delivered/s | p50 | p99 |
|---:|---:|---:|---:|---:|
| {rate:,.0f} | {latency.SUBSCRIBERS} | {deliveries:,.0f} | {p50:.1f} ms | {p99:.1f} ms |

Target: p99 below 100 ms at 2,000 reports/s.

## CoT fan-out to TAK clients

`python benchmarks/fanout.py --clients {FANOUT_CLIENTS} --seconds {FANOUT_SECONDS:g}`:
{FANOUT_CLIENTS} clients over plain TCP (the project's own load generator, in worker
processes on the same machine), each sending its position once a second and receiving
everyone else's, all seeing all ({FANOUT_CLIENTS * (FANOUT_CLIENTS - 1):,} deliveries a
second expected). A position counts as delivered to a client when it arrives, whenever
that is, if it was sent inside the {FANOUT_SECONDS:g} s window; latency is from its
sending (stamped in the event) to its arrival. Tessera parses every event, makes it a
report (journal, fusion), and relays it to every client whose principal may read its
label, through each client's coalescing outbox. The baseline is the least a relay can do,
in the same language: cut the stream at `</event>` and write each event to every other
connection at once.

{fanout.markdown_table(tak, bare)}

Target: {FANOUT_CLIENTS} clients, at least 99 % delivered, p99 below one second.

## Fusion

{fusion.markdown_throughput({key: median_of(throughput_runs, key) for key in throughput_runs[0]})}
The reports are generated in memory ({fusion.THROUGHPUT_NOTE}); the figure is the
engine alone on one core (Python, NumPy), medians of {args.repeats} runs.

Target: at least 50,000 reports/s fused on one core with 10,000 live tracks.

{fusion.markdown_million(million)}

{fusion_compare.section(comparison, fusion.stonesoup_version())}"""
    kept = "".join(kept_section(ROOT / "BENCHMARKS.md", heading) for heading in KEPT)
    text = text.replace("\n## Fusion\n", "\n" + kept + "## Fusion\n")
    print(text)
    if not args.no_write:
        (ROOT / "BENCHMARKS.md").write_text(text)
        refresh_summary(ROOT / "BENCHMARKS.md")
        print("wrote BENCHMARKS.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
