"""BENCHMARKS.md from the peers' figures: the summary table at the top (one row per
capability: Tessera, the best peer, the ratio; Stone Soup's fusion rows included) and the
"Against the peers" section with every figure, version, setting and failure."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from benchmarks.peers.bench import FLOOR, RESULTS
from benchmarks.peers.install import FREETAKSERVER, OPENTAKSERVER, PYGEOAPI
from benchmarks.peers.ogc import BBOX, PAGE, PYGEOAPI_COMMAND

SUMMARY = "## Summary"
SECTION = "## Against the peers"
NAMES = {"tessera": "Tessera", "fts": "FreeTAKServer", "ots": "OpenTAKServer"}
PEERS = ("fts", "ots")


def _stonesoup(text: str) -> list[tuple[str, float, float, float, float]]:
    """(scenario, Tessera reports/s, Stone Soup reports/s, Tessera GOSPA, Stone Soup GOSPA)
    from the fusion comparison table already in BENCHMARKS.md."""
    rows: dict[str, dict[str, tuple[float, float]]] = {}
    pattern = re.compile(r"^\| (\w+) \| [\d,]+ \| (tessera|stonesoup) \| ([\d,]+) \| ([\d,]+) \|")
    for line in text.splitlines():
        if match := pattern.match(line):
            scenario, engine, rate, gospa = match.groups()
            number = (float(rate.replace(",", "")), float(gospa.replace(",", "")))
            rows.setdefault(scenario, {})[engine] = number
    return [
        (name, e["tessera"][0], e["stonesoup"][0], e["tessera"][1], e["stonesoup"][1])
        for name, e in rows.items()
        if "tessera" in e and "stonesoup" in e
    ]


def _reached(outcome: dict[str, Any]) -> int:
    """The largest N at which the server delivered at least FLOOR."""
    good = [row["clients"] for row in outcome.get("rows", []) if row["delivery_ratio"] >= FLOOR]
    return max(good, default=0)


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:,.1f}x" if theirs > 0 else "n/a (peer: 0)"


def summary(results: dict[str, Any], text: str) -> str:
    lines = [
        SUMMARY,
        "",
        f"Tessera against the best peer per capability; the peers' figures are from "
        f"`make bench-peers` ({results['when']}, see [Against the peers](#against-the-peers)), "
        "Stone Soup's from `make bench` (see [Fusion](#fusion)). Ratios are Tessera / peer "
        "(for latency and GOSPA, peer / Tessera: above 1 is Tessera better).",
        "",
        "| capability | Tessera | best peer | ratio |",
        "|---|---:|---|---:|",
    ]
    fanout = results.get("fanout", {})
    if "tessera" in fanout:
        ours = fanout["tessera"]
        peers = [(name, _reached(fanout[name])) for name in PEERS if name in fanout]
        if peers:
            best, reached = max(peers, key=lambda p: p[1])
            lines.append(
                f"| CoT fan-out: most clients served at >= {FLOOR:.0%} delivered "
                f"(of {', '.join(str(n) for n in results['plan']['steps'])}) "
                f"| {_reached(ours)} | {NAMES[best]}: {reached} "
                f"| {_ratio(_reached(ours), reached)} |"
            )
            common = reached
            ours_row = next((r for r in ours["rows"] if r["clients"] == common), None)
            theirs_row = next((r for r in fanout[best]["rows"] if r["clients"] == common), None)
            if ours_row and theirs_row:
                lines.append(
                    f"| CoT fan-out: positions delivered/s at N = {common} "
                    f"| {ours_row['relayed_per_s']:,.0f} "
                    f"| {NAMES[best]}: {theirs_row['relayed_per_s']:,.0f} "
                    f"| {_ratio(ours_row['relayed_per_s'], theirs_row['relayed_per_s'])} |"
                )
                lines.append(
                    f"| CoT fan-out: p99 latency at N = {common} "
                    f"| {ours_row['p99_ms']:,.0f} ms "
                    f"| {NAMES[best]}: {theirs_row['p99_ms']:,.0f} ms "
                    f"| {_ratio(theirs_row['p99_ms'], ours_row['p99_ms'])} |"
                )
    ingest = results.get("ingest", {})
    rates = {n: f["events_per_s"] for n, f in ingest.items() if "events_per_s" in f}
    peer_rates = {n: r for n, r in rates.items() if n in PEERS}
    if "tessera" in rates and peer_rates:
        best = max(peer_rates, key=lambda n: peer_rates[n])
        lines.append(
            f"| CoT ingest over TCP: events/s seen by a subscriber | {rates['tessera']:,.0f} "
            f"| {NAMES[best]}: {peer_rates[best]:,.0f} "
            f"| {_ratio(rates['tessera'], peer_rates[best])} |"
        )
    ogc = results.get("ogc", {})
    if "tessera" in ogc and "pygeoapi" in ogc:
        ours, theirs = ogc["tessera"], ogc["pygeoapi"]
        lines += [
            f"| OGC API - Features: items/s paging {ogc['tracks']:,} tracks of one PostGIS "
            f"table, limit={PAGE} "
            f"| {ours['items_per_s']:,.0f} | pygeoapi: {theirs['items_per_s']:,.0f} "
            f"| {_ratio(ours['items_per_s'], theirs['items_per_s'])} |",
            f"| OGC API - Features: bbox query p99, the same table "
            f"| {ours['bbox_p99_ms']:,.1f} ms "
            f"| pygeoapi: {theirs['bbox_p99_ms']:,.1f} ms "
            f"| {_ratio(theirs['bbox_p99_ms'], ours['bbox_p99_ms'])} |",
        ]
    for scenario, ours_rate, theirs_rate, ours_gospa, theirs_gospa in _stonesoup(text):
        lines += [
            f"| Fusion, {scenario} scenario: reports/s | {ours_rate:,.0f} "
            f"| Stone Soup: {theirs_rate:,.0f} | {_ratio(ours_rate, theirs_rate)} |",
            f"| Fusion, {scenario} scenario: GOSPA (m, lower is better) | {ours_gospa:,.0f} "
            f"| Stone Soup: {theirs_gospa:,.0f} | {_ratio(theirs_gospa, ours_gospa)} |",
        ]
    return "\n".join(lines) + "\n"


def _fanout_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| server | N | positions delivered/s | delivery ratio | p50 | p99 "
        "| server CPU (% of a core) | server RSS (peak) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for name, outcome in results.get("fanout", {}).items():
        for row in outcome.get("rows", []):
            lines.append(
                f"| {NAMES[name]} | {row['clients']} | {row['relayed_per_s']:,.0f} "
                f"| {row['delivery_ratio']:.1%} | {row['p50_ms']:,.0f} ms "
                f"| {row['p99_ms']:,.0f} ms | {row['cpu_percent']:.0f} % "
                f"| {row['peak_rss_mb']:,.0f} MiB |"
            )
        for key in ("stopped", "error"):
            if key in outcome:
                notes.append(f"- {NAMES[name]}: {outcome[key]}")
    return lines + (["", *notes] if notes else [])


def _ingest_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| server | events sent | seen by the subscriber | events/s | server CPU | server RSS |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, f in results.get("ingest", {}).items():
        if "error" in f:
            lines.append(f"| {NAMES[name]} | failed: {f['error']} | | | | |")
            continue
        lines.append(
            f"| {NAMES[name]} | {f['sent']:,} | {f['seen']:,} ({f['ratio']:.0%}) "
            f"| {f['events_per_s']:,.0f} | {f['cpu_percent']:.0f} % "
            f"| {f['peak_rss_mb']:,.0f} MiB |"
        )
    return lines


def _ogc_table(results: dict[str, Any]) -> list[str]:
    ogc = results.get("ogc", {})
    lines = [
        f"| server | items/s, paging with limit={PAGE} | bbox query: features | p50 | p99 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, title in (
        ("tessera", "Tessera `/ogc`, on PostGIS (a gateway)"),
        ("pygeoapi", f"pygeoapi {PYGEOAPI.version}, the same table"),
        ("tessera_embedded", "Tessera `/ogc`, embedded default"),
    ):
        if name in ogc:
            f = ogc[name]
            lines.append(
                f"| {title} | {f['items_per_s']:,.0f} | {f['bbox_items']:,} "
                f"| {f['bbox_p50_ms']:,.1f} ms | {f['bbox_p99_ms']:,.1f} ms |"
            )
    for key in ("error", "pygeoapi_error"):
        if key in ogc:
            lines += ["", f"Failed: {ogc[key]}"]
    return lines


def section(results: dict[str, Any]) -> str:
    plan = results["plan"]
    steps = ", ".join(map(str, plan["steps"]))
    fanout = results.get("fanout", {})
    started = "\n".join(
        f"- {outcome['describe']}; {outcome['settings']}."
        for outcome in fanout.values()
        if "describe" in outcome
    )
    return f"""{SECTION}

`make bench-peers` (`python -m benchmarks.peers.bench --write`), {results["when"]}, in
{results.get("minutes", 0):.0f} minutes. The peers are installed from PyPI by
`python -m benchmarks.peers.install`, each into its own virtual environment under
`build/peers/` (pinned; a stamp file makes the next run skip it): FreeTAKServer
{FREETAKSERVER.version} on Python 3.11 (with `setuptools<81` and OpenTelemetry 1.24.0,
which it needs to start today), OpenTAKServer {OPENTAKSERVER.version} on Python 3.12
(pyenv), pygeoapi {PYGEOAPI.version} with its PostgreSQL provider. Each server is started
afresh for each step, on loopback, and stopped with every process it started.
FreeTAKServer binds 0.0.0.0:8080 and :8443 whatever it is told and writes under /opt and
/var/log, so it runs in a private network and mount namespace (`unshare -n -m`, loopback
only, scratch folders over /opt and /var/log) and the load generator joins that network
namespace: nothing it opens is visible on the machine. OpenTAKServer uses the machine's
PostgreSQL (database `tessera_bench_ots`, created and dropped by the harness) and
RabbitMQ; it has no vhost setting, so it uses the default vhost, where the harness deletes
the per-client queues it leaves behind (`bench-N`) before and after each run.

Figures are noisy: other work shared the machine's two cores during the run. Started as:

{started}

### CoT fan-out

The load of "CoT fan-out to TAK clients" above, for each server: N clients over plain TCP,
each sending its position once a second and receiving everyone else's, for
{plan["seconds"]:g} s after {plan["warmup"]:g} s of warm-up; N = {steps},
stopping a server's steps once it delivers under {FLOOR:.0%}. A position counts as
delivered when another client receives it (within 2 s of the window's end); a client's own
events echoed back (FreeTAKServer does) are not counted. Each client waits a second after
connecting before its first position: OpenTAKServer sets a client's subscription up
asynchronously and a client whose first event arrives before that receives nothing, ever.
Server CPU is the sum over all its processes, averaged over the load including warm-up;
RSS the peak of the sum.

{chr(10).join(_fanout_table(results))}

### CoT ingest over TCP

One client sends {plan["ingest_events"]:,} positions (each of its own object, so that no
server may merge them) as fast as the server reads them, in writes of 100; a second
client, connected before, counts the ones it receives. events/s is from the first sending
to the last arrival, within {plan["ingest_limit"]:g} s.

{chr(10).join(_ingest_table(results))}

### OGC API - Features against pygeoapi

Tessera on PostGIS (a fusion worker and a gateway, `tessera serve --role fusion|gateway`,
on a fresh database and NATS streams) is fed one self-report for each of
{results.get("ogc", {}).get("tracks", plan["ogc_tracks"]):,} units. The worker writes
the fused tracks into Tessera's own `tracks` table, and pygeoapi serves that very table
with its PostgreSQL provider under `{PYGEOAPI_COMMAND}` (two workers: the machine's
cores), through a view that gives it one picture's rows and the point as lon/lat geometry
(`position::geometry`, the expression Tessera's GiST index covers). Tessera's gateway
answers `/ogc` from its replica of that table, as deployed; the embedded default
(`tessera serve`, one process) is measured on the same load for comparison. items/s is
the median of three passes paging through everything with `limit={PAGE}` and `offset`;
the bbox query (`bbox={BBOX}`, `limit=1000`) is asked {plan["ogc_queries"]} times one
after the other.

{chr(10).join(_ogc_table(results))}
"""


def _replace(text: str, heading: str, body: str, before: str) -> str:
    """``text`` with the section under ``heading`` replaced by ``body`` (or inserted before
    the section ``before``)."""
    start = text.find("\n" + heading + "\n")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        return text[: start + 1] + body + "\n" + text[len(text) if end < 0 else end + 1 :]
    at = text.find("\n" + before + "\n")
    if at < 0:
        return text.rstrip("\n") + "\n\n" + body
    return text[: at + 1] + body + "\n" + text[at + 1 :]


def first_section(text: str) -> str:
    match = re.search(r"^## .*$", text, flags=re.MULTILINE)
    return match.group(0) if match else "## Fusion"


def write(results: dict[str, Any], path: Path) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    text = _replace(text, SECTION, section(results), "## Fusion")
    text = _replace(text, SUMMARY, summary(results, text), first_section(text))
    path.write_text(text)


def refresh_summary(path: Path, results_file: Path = RESULTS) -> None:
    """After `make bench` rewrote the page: the summary and the peers' section again, from
    the last peers' run (if there was one), with the new Stone Soup figures."""
    if results_file.exists():
        write(json.loads(results_file.read_text()), path)
