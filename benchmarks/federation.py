"""Federation across a degraded link: nothing lost or doubled through an outage, the time
to catch up after it, the bytes per report on the wire, the staleness of the peer's
picture.

Usage: python benchmarks/federation.py [--quick] [--exercise | --synthetic]
[--outage SECONDS] [--write]

Two in-process nodes on the embedded default, a federation link over mutual TLS from
``a`` to ``b`` through the impairment proxy (``benchmarks/impairment.py``): 64 kbit/s
each way, 2 % of packets lost (each holds the stream back a 200 ms retransmission
timeout), 300 ms one-way latency; the link's own cap a little under the line's. Node
``a`` is fed, with ``--exercise`` (the default of the full mode), the exercise's own
reports (``benchmarks/exercise_load.py``: the stream ``tessera demo`` feeds, seed 1 at
200 reports/s, simulated time mapped onto the wall clock) and the link releases what a
non-NATO partner may see: RESTRICTED and below, releasable to UKR (the drone sightings
and the open sources); with ``--synthetic`` (the default of the quick mode) a round of
reports (one per object, a tenth of them hostile, each moving, all released) every
``interval_s``. A third of the way in the link is cut for ``outage_s`` (10 minutes
in full mode) while the rounds go on; once restored, the run waits (bounded) for ``b`` to
hold everything released. Then: every released report of ``a`` is in ``b``'s journal
exactly once (or, if the line cannot carry the released rate, how far behind ``b`` was
when the wait ended); how long
after the restore ``b``'s picture is current again (every object's newest report held,
or a drone's newest sighting for sightings of no named object: the backlog sends those
first) and the catch-up time (restore to ``b`` holding
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

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import measured_when, write_section  # noqa: E402
from benchmarks.exercise_load import PARTNER_RULE, PARTNER_RULE_TEXT, ExerciseLoad  # noqa: E402
from benchmarks.federation_mesh import EVERYTHING, mesh  # noqa: E402
from benchmarks.impairment import Impairment  # noqa: E402
from tessera.codecs.cot import encode_event  # noqa: E402
from tessera.codecs.cot_framing import TAK_MAGIC  # noqa: E402
from tessera.codecs.cot_model import CotEvent, cot_time  # noqa: E402
from tessera.codecs.cot_proto import encode_payload  # noqa: E402
from tessera.core.cot_types import generic_type  # noqa: E402
from tessera.core.labels import ClassificationScheme, Picture, admits  # noqa: E402
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
    # Waiting for the peer to catch up stops after this long (after the restore).
    catch_up_limit_s: float = 1800.0
    exercise: bool = False  # the exercise's reports (``objects`` unused) or synthetic


FULL = Load(objects=50, rounds_before=60, rounds_after=60, interval_s=1.0, outage_s=600.0)
QUICK = Load(objects=10, rounds_before=4, rounds_after=4, interval_s=0.25, outage_s=2.0)
FULL_EXERCISE = Load(
    objects=0,
    rounds_before=60,
    rounds_after=60,
    interval_s=1.0,
    outage_s=600.0,
    catch_up_limit_s=900.0,
    exercise=True,
)
QUICK_EXERCISE = Load(
    objects=0,
    rounds_before=4,
    rounds_after=4,
    interval_s=0.25,
    outage_s=2.0,
    catch_up_limit_s=12.0,
    exercise=True,
)
PARTNER = Picture(name="partner", rule=PARTNER_RULE)


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
    release = msgspec.to_builtins(PARTNER_RULE) if load.exercise else EVERYTHING
    scheme = ClassificationScheme()
    partner = PARTNER if load.exercise else Picture(name="partner")  # default: all
    feed = ExerciseLoad() if load.exercise else None
    async with mesh(data_dir, [("a", "b")], impairment=LINE, release=release, **link) as m:
        a, b = m.nodes["a"], m.nodes["b"]
        proxy = m.proxies[("a", "b")]
        status = a.status("b")
        appended_at: dict[str, float] = {}
        made: list[Report] = []
        released: list[Report] = []
        loop = asyncio.get_running_loop()
        held_count = 0
        read_after = 0

        async def rounds(count: int, start: int) -> None:
            for number in range(start, start + count):
                now = datetime.now(UTC)
                if feed is None:
                    batch = round_of(number, load.objects, now)
                else:
                    batch = feed.tick(load.interval_s, now)
                if batch:
                    await a.tessera.journal.append(batch)
                stamp = loop.time()
                appended_at.update({report.id: stamp for report in batch})
                made.extend(batch)
                released.extend(r for r in batch if admits(partner, r.label, scheme))
                await asyncio.sleep(load.interval_s)

        async def caught_up(since: float, limit: float) -> bool:
            """Whether ``b`` came to hold every released report before the limit."""
            nonlocal held_count, read_after
            while True:
                while chunk := await b.tessera.journal.read(read_after, 10_000):
                    held_count += sum(1 for e in chunk if e.report is not None)
                    read_after = chunk[-1].seq
                if held_count >= len(released):
                    return True
                if loop.time() - since >= limit:
                    return False
                await asyncio.sleep(0.05)

        started = loop.time()
        while not status.connected:  # the link up (its handshake) before the rounds
            assert loop.time() - started < load.catch_up_limit_s, "the link never came up"
            await asyncio.sleep(0.05)
        await rounds(load.rounds_before, 0)
        proxy.cut()
        cut_at = loop.time()
        outage_rounds = max(1, round(load.outage_s / load.interval_s))
        await rounds(outage_rounds, load.rounds_before)
        await asyncio.sleep(max(0.0, cut_at + load.outage_s - loop.time()))
        proxy.restore()
        restored_at = loop.time()
        done = await caught_up(restored_at, load.catch_up_limit_s)
        caught_up_s = loop.time() - restored_at if done else None
        await rounds(load.rounds_after, load.rounds_before + outage_rounds)
        # Behind already: one look at where it stands (the wait was bounded once).
        done = await caught_up(loop.time(), load.catch_up_limit_s if done else 0.0) and done
        ended_at = loop.time()
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
        # The peer's picture current again: every object's newest released report of the
        # outage held (the backlog sends those first); a sighting of no named object
        # stands for its source (a drone's newest sighting).
        newest: dict[str, str] = {}
        for report in released:
            if appended_at[report.id] <= restored_at:
                newest[report.subject or report.source.id] = report.id
        current_s = (
            max(arrived[rid] for rid in newest.values()) - restored_at
            if all(rid in arrived for rid in newest.values())
            else None
        )
        missing = [r.id for r in released if r.id not in arrived]
        sizes = [cot_sizes(report) for report in released]
        return {
            "load": "exercise" if load.exercise else "synthetic",
            "release": PARTNER_RULE_TEXT if load.exercise else "everything",
            "reports": len(made),
            "released": len(released),
            "held": len(held),
            # Not at b when the wait ended: lost if b caught up, else still on its way.
            "lost": len(missing) if done else 0,
            "doubled": len(held) - len(set(held)),
            "caught_up": done,
            "behind_reports": 0 if done else len(missing),
            "behind_s": max((ended_at - appended_at[rid] for rid in missing), default=0.0),
            "outage_s": load.outage_s,
            "caught_up_s": caught_up_s,
            "picture_current_s": current_s,
            "wire_bytes_per_report": proxy.counters.bytes["up"] / max(len(held), 1),
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


def seconds(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.1f} s"


def markdown(row: dict[str, Any], load: Load, command: str, when: str) -> str:
    if load.exercise:
        fed = (
            f"node `a` fed the exercise's own reports (seed 1, 200 reports/s as `tessera demo`), "
            f"the link releasing {row['release']}: {row['released']:,} of "
            f"{row['reports']:,} reports"
        )
    else:
        fed = f"{load.objects} objects reporting every {load.interval_s:g} s, all released"
    lines = [
        SECTION,
        "",
        f"Two nodes, a link over mutual TLS through the impairment proxy: 64 kbit/s, 2 % "
        f"packet loss, 300 ms latency; {fed}; an outage of {load.outage_s:g} s a third of "
        f"the way. `{command}`, {when}.",
        "",
        "| load | released reports | lost | doubled | picture current after the outage "
        "| caught up | link bytes/report "
        "| CoT XML bytes/report | TAK protobuf bytes/report | staleness median / p95 "
        "(link up) | staleness max |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {row['load']} | {row['released']:,} | {row['lost']} | {row['doubled']} | "
        f"{seconds(row['picture_current_s'])} | "
        f"{seconds(row['caught_up_s'])} | {row['wire_bytes_per_report']:.0f} | "
        f"{row['cot_xml_bytes_per_report']:.0f} | {row['tak_proto_bytes_per_report']:.0f} | "
        f"{row['staleness_median_s']:.2f} s / {row['staleness_p95_s']:.2f} s | "
        f"{row['staleness_max_s']:.0f} s |",
        "",
    ]
    if not row["caught_up"]:
        lines += [
            f"**The line did not carry the released rate**: when the wait (at most "
            f"{load.catch_up_limit_s:g} s) ended `b` still lacked {row['behind_reports']:,} of the "
            f"{row['released']:,} released reports, the oldest of them made "
            f"{row['behind_s']:.0f} s before the wait ended (counted as behind, not lost).",
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument(
        "--exercise",
        action="store_true",
        help="the exercise's reports, partner release (default of the full mode)",
    )
    kind.add_argument(
        "--synthetic",
        action="store_true",
        help="50 objects every second, all released (default of the quick mode)",
    )
    parser.add_argument("--outage", type=float, help="outage in seconds (scaled run)")
    parser.add_argument("--write", action="store_true", help="write into BENCHMARKS.md")
    args = parser.parse_args()
    use_exercise = args.exercise or not (args.synthetic or args.quick)
    if args.quick:
        load = QUICK_EXERCISE if use_exercise else QUICK
    else:
        load = FULL_EXERCISE if use_exercise else FULL
    if args.outage is not None:
        load = Load(**{**load.__dict__, "outage_s": args.outage})
    started = time.monotonic()
    row = measure(load)
    command = "python benchmarks/federation.py" + (" --quick" if args.quick else "")
    command += " --exercise" if use_exercise else " --synthetic"
    if args.outage is not None:
        command += f" --outage {args.outage:g}"
    text = markdown(row, load, command, measured_when())
    print(text)
    print(f"(ran {time.monotonic() - started:.0f} s; {row})", file=sys.stderr)
    if args.write:
        write_section(ROOT / "BENCHMARKS.md", SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
