"""Federation across a degraded link: nothing lost or doubled through an outage, the time
to catch up after it, the bytes per report on the wire, the staleness of the peer's
picture.

Usage: python benchmarks/federation.py [--quick] [--outage SECONDS] [--write]

Two in-process nodes on the embedded default, a federation link over mutual TLS from
``a`` to ``b`` through the impairment proxy (``benchmarks/impairment.py``): 64 kbit/s
each way, 2 % of packets lost (each holds the stream back a 200 ms retransmission
timeout), 300 ms one-way latency; the link's own cap a little under the line's. Node
``a`` journals a round of reports (one per object, a tenth of them hostile, each moving)
every ``interval_s``; a third of the way in the link is cut for ``outage_s`` (10 minutes
in full mode) while the rounds go on; once restored, the run waits for ``b`` to hold
everything. Then: every report of ``a`` is in ``b``'s journal exactly once; how long
after the restore ``b``'s picture is current again (every object's newest report held:
the backlog sends those first) and the catch-up time (restore to ``b`` holding
everything), the link's bytes on the wire per report (TLS, frames, acknowledgements:
everything the proxy carried ``a`` to ``b``) against the same reports as CoT XML events
and as TAK protocol (protobuf, stream framing), and the staleness of ``b``'s picture: for
each report, from its append at ``a`` to its append at ``b`` (the median, the 95th
percentile over reports made while the link was up, and the largest: a report made as
the outage began).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.federation_mesh import mesh  # noqa: E402
from benchmarks.impairment import Impairment  # noqa: E402
from tessera.codecs.cot import encode_event  # noqa: E402
from tessera.codecs.cot_framing import TAK_MAGIC  # noqa: E402
from tessera.codecs.cot_model import CotEvent, cot_time  # noqa: E402
from tessera.codecs.cot_proto import encode_payload  # noqa: E402
from tessera.core.cot_types import generic_type  # noqa: E402
from tessera.core.model import (  # noqa: E402
    Identity,
    Label,
    Position,
    Report,
    Source,
    SourceKind,
    Velocity,
)

SECTION = "## Federation over a degraded link"
LINE = Impairment(latency_s=0.3, rate_bps=64_000, loss=0.02, rto_s=0.2, seed=7)
LABEL = Label("RESTRICTED", ("NATO", "POL"))


@dataclass(frozen=True)
class Load:
    objects: int
    rounds_before: int  # rounds before the outage
    rounds_after: int  # rounds after it
    interval_s: float
    outage_s: float


FULL = Load(objects=50, rounds_before=60, rounds_after=60, interval_s=1.0, outage_s=600.0)
QUICK = Load(objects=10, rounds_before=4, rounds_after=4, interval_s=0.25, outage_s=2.0)
# Waiting for the peer to catch up stops after this long whatever the load.
CATCH_UP_LIMIT_S = 1800.0


def round_of(number: int, objects: int, now: datetime) -> list[Report]:
    """One report per object, each a little further along its way."""
    return [
        Report(
            id=f"a-{number:05d}-{index:04d}",
            source=Source(id="a-radar", kind=SourceKind.SENSOR),
            observed_at=now,
            position=Position(
                lat=50.0 + index * 0.01 + number * 0.0001, lon=20.0 + number * 0.0002, ce=30.0
            ),
            velocity=Velocity(course=90.0, speed=12.5),
            subject=f"obj-{index:04d}",
            identity=Identity.HOSTILE if index % 10 == 0 else Identity.UNKNOWN,
            label=LABEL,
            remarks="",
        )
        for index in range(objects)
    ]


def cot_sizes(report: Report) -> tuple[int, int]:
    """The report as a CoT event: its XML's bytes, its TAK protocol stream bytes."""
    when = cot_time(report.observed_at)
    velocity = report.velocity
    event = CotEvent(
        uid=report.subject or report.id,
        type=generic_type(report.identity),
        how="m-g",
        time=when,
        start=when,
        stale=when + timedelta(minutes=2),
        lat=report.position.lat,
        lon=report.position.lon,
        hae=report.position.alt,
        ce=report.position.ce,
        callsign=report.subject,
        course=None if velocity is None else velocity.course,
        speed=None if velocity is None else velocity.speed,
    )
    payload = encode_payload(event)
    size, varint = len(payload), 1
    while size >= 0x80:
        size >>= 7
        varint += 1
    # The TAK stream frame: its 0xbf magic byte, a varint length, the payload.
    assert TAK_MAGIC == 0xBF
    return len(encode_event(event)), 1 + varint + len(payload)


async def exercise(load: Load, data_dir: Path) -> dict[str, Any]:
    link: dict[str, Any] = {
        "rate_bps": 60_000,
        # As deployed: a position with no item waits (the mesh sends each at once).
        "position_every_s": 10.0,
        "ack_timeout_s": 10.0,
        "backoff_s": 0.2,
        "backoff_max_s": 2.0,
    }
    async with mesh(data_dir, [("a", "b")], impairment=LINE, **link) as m:
        a, b = m.nodes["a"], m.nodes["b"]
        proxy = m.proxies[("a", "b")]
        status = a.status("b")
        appended_at: dict[str, float] = {}
        made: list[Report] = []
        loop = asyncio.get_running_loop()

        async def rounds(count: int, start: int) -> None:
            for number in range(start, start + count):
                batch = round_of(number, load.objects, datetime.now(UTC))
                await a.tessera.journal.append(batch)
                now = loop.time()
                appended_at.update({report.id: now for report in batch})
                made.extend(batch)
                await asyncio.sleep(load.interval_s)

        started = loop.time()
        while not status.connected:  # the link up (its handshake) before the rounds
            assert loop.time() - started < CATCH_UP_LIMIT_S, "the link never came up"
            await asyncio.sleep(0.05)
        await rounds(load.rounds_before, 0)
        proxy.cut()
        cut_at = loop.time()
        outage_rounds = max(1, round(load.outage_s / load.interval_s))
        await rounds(outage_rounds, load.rounds_before)
        await asyncio.sleep(max(0.0, cut_at + load.outage_s - loop.time()))
        proxy.restore()
        restored_at = loop.time()
        target = a.tessera.journal.last_seq
        while status.position < target:
            assert loop.time() - restored_at < CATCH_UP_LIMIT_S, "the peer never caught up"
            await asyncio.sleep(0.05)
        caught_up_s = loop.time() - restored_at
        await rounds(load.rounds_after, load.rounds_before + outage_rounds)
        target = a.tessera.journal.last_seq
        while status.position < target:
            assert loop.time() - restored_at < CATCH_UP_LIMIT_S, "the peer never caught up"
            await asyncio.sleep(0.05)
        # What b holds: each of a's reports by its id at a, with when b journaled it.
        entries = []
        after = 0
        while chunk := await b.tessera.journal.read(after, 10_000):
            entries.extend(chunk)
            after = chunk[-1].seq
        local_ids = [e.report.id for e in entries if e.report is not None]
        provenance = b.federation.state.provenance(local_ids)
        held = [provenance[local].wire_id for local in local_ids]
        first_b = min(e.received_at for e in entries)
        first_b_at = loop.time() - (datetime.now(UTC) - first_b).total_seconds()
        arrived = {
            provenance[e.report.id].wire_id: first_b_at + (e.received_at - first_b).total_seconds()
            for e in entries
            if e.report is not None
        }
        staleness = {rid: arrived[rid] - appended_at[rid] for rid in arrived}
        up = [s for rid, s in staleness.items() if not cut_at <= appended_at[rid] <= restored_at]
        # The peer's picture current again: every object's newest report of the outage
        # held (the backlog sends those first).
        newest: dict[str, str] = {}
        for report in made:
            if appended_at[report.id] <= restored_at and report.subject is not None:
                newest[report.subject] = report.id
        current_s = max(arrived[rid] for rid in newest.values()) - restored_at
        sizes = [cot_sizes(report) for report in made]
        return {
            "reports": len(made),
            "held": len(held),
            "lost": len({r.id for r in made} - set(held)),
            "doubled": len(held) - len(set(held)),
            "outage_s": load.outage_s,
            "caught_up_s": caught_up_s,
            "picture_current_s": current_s,
            "wire_bytes_per_report": proxy.counters.bytes["up"] / len(made),
            "cot_xml_bytes_per_report": statistics.fmean(x for x, _ in sizes),
            "tak_proto_bytes_per_report": statistics.fmean(p for _, p in sizes),
            "staleness_median_s": statistics.median(up),
            "staleness_p95_s": statistics.quantiles(up, n=20)[-1] if len(up) > 1 else up[0],
            "staleness_max_s": max(staleness.values()),
            "lost_packets": proxy.counters.lost_packets,
            "reconnects": status.reconnects,
            "duplicates_at_peer": b.status("a").duplicates,
        }


def measure(load: Load) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(exercise(load, Path(folder)))


def markdown(row: dict[str, Any], load: Load, command: str, when: str) -> str:
    return "\n".join(
        [
            SECTION,
            "",
            f"Two nodes, a link over mutual TLS through the impairment proxy: 64 kbit/s, 2 % "
            f"packet loss, 300 ms latency; {load.objects} objects reporting every "
            f"{load.interval_s:g} s, an outage of {load.outage_s:g} s a third of the way. "
            f"`{command}`, {when}.",
            "",
            "| reports | lost | doubled | picture current after the outage | caught up "
            "| link bytes/report "
            "| CoT XML bytes/report | TAK protobuf bytes/report | staleness median / p95 "
            "(link up) | staleness max |",
            "|---|---|---|---|---|---|---|---|---|---|",
            f"| {row['reports']:,} | {row['lost']} | {row['doubled']} | "
            f"{row['picture_current_s']:.1f} s | "
            f"{row['caught_up_s']:.1f} s | {row['wire_bytes_per_report']:.0f} | "
            f"{row['cot_xml_bytes_per_report']:.0f} | {row['tak_proto_bytes_per_report']:.0f} | "
            f"{row['staleness_median_s']:.2f} s / {row['staleness_p95_s']:.2f} s | "
            f"{row['staleness_max_s']:.0f} s |",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--outage", type=float, help="outage in seconds (scaled run)")
    parser.add_argument("--write", action="store_true", help="write into BENCHMARKS.md")
    args = parser.parse_args()
    load = QUICK if args.quick else FULL
    if args.outage is not None:
        load = Load(**{**load.__dict__, "outage_s": args.outage})
    started = time.monotonic()
    row = measure(load)
    with open("/proc/loadavg") as handle:
        loadavg = handle.read().split()[0]
    command = "python benchmarks/federation.py" + (" --quick" if args.quick else "")
    if args.outage is not None:
        command += f" --outage {args.outage:g}"
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {loadavg}"
    text = markdown(row, load, command, when)
    print(text)
    print(f"(ran {time.monotonic() - started:.0f} s; {row})", file=sys.stderr)
    if args.write:
        path = ROOT / "BENCHMARKS.md"
        old = path.read_text()
        start = old.find("\n" + SECTION)
        if start < 0:
            path.write_text(old.rstrip("\n") + "\n\n" + text)
        else:
            end = old.find("\n## ", start + 1)
            path.write_text(old[: start + 1] + text + (old[end:] if end >= 0 else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
