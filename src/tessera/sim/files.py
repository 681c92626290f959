"""Write a scenario to a folder: reports, ground truth, and which truth each report is about.

``sources.jsonl`` is kept apart from ``reports.jsonl`` so fusion never sees the answer.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import msgspec

from tessera.codecs.json import encode_report
from tessera.sim.scenario import Exercise

TRUTH_EVERY_S = 10


@dataclass(frozen=True)
class Written:
    reports: int
    snapshots: int


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def write_scenario(
    scenario: Exercise,
    folder: Path,
    duration: float,
    progress: Callable[[int], None] | None = None,
) -> Written:
    folder.mkdir(parents=True, exist_ok=True)
    encoder = msgspec.json.Encoder()
    count = 0
    with (
        (folder / "reports.jsonl").open("wb") as reports,
        (folder / "sources.jsonl").open("wb") as sources,
    ):
        for sighting in scenario.sightings(duration):
            stamped = msgspec.structs.replace(sighting.report, received_at=sighting.send_at)
            reports.write(encode_report(stamped) + b"\n")
            origin = {
                "report": stamped.id,
                "truth": sighting.truth,
                "received_at": _iso(sighting.send_at),
            }
            sources.write(encoder.encode(origin) + b"\n")
            count += 1
            if progress is not None and count % 10_000 == 0:
                progress(count)
    snapshots = 0
    start = scenario.config.start
    with (folder / "truth.jsonl").open("wb") as truth:
        for t in range(0, int(duration) + 1, TRUTH_EVERY_S):
            objects = [
                {"id": o.id, "lat": o.lat, "lon": o.lon, "identity": o.identity, "kind": o.kind}
                for o in scenario.truth(float(t))
            ]
            moment = _iso(start + timedelta(seconds=t))
            truth.write(encoder.encode({"time": moment, "objects": objects}) + b"\n")
            snapshots += 1
    return Written(reports=count, snapshots=snapshots)


def stderr_progress() -> Callable[[int], None]:
    started = time.monotonic()

    def show(count: int) -> None:
        rate = count / max(time.monotonic() - started, 1e-9)
        print(f"\rwritten {count:,} reports ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)

    return show
