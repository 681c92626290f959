"""What is measured is what users see: the live server's picture of a journal equals what
`tessera fuse` makes of the same journal, track for track, both with their defaults.

A simulated scenario is posted to a live server (the embedded default) on the test's own
clock: the reports received in each half second go in one POST, committed at the end of
that half second, the last exactly at a snapshot time. The journal the server wrote is
then given to `tessera fuse`, whose last snapshot must hold the live picture.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from tessera.cli import main
from tessera.codecs.geojson import track_feature
from tessera.codecs.json import encode, encode_report
from tessera.journal.sqlite import SqliteJournal
from tessera.sim.files import write_scenario
from tessera.sim.scenario import DEFAULT_START, ScenarioConfig, build
from tessera.store.base import TrackQuery
from tests.support import clocked_server

SECONDS = 60
COMMIT_EVERY = timedelta(milliseconds=500)


def commits(reports: Path, end: datetime) -> list[tuple[datetime, list[dict[str, Any]]]]:
    """The scenario's reports received up to ``end``, grouped by the half second in which
    they were received, each group with the end of its half second."""
    groups: dict[datetime, list[dict[str, Any]]] = {}
    for line in reports.read_text().splitlines():
        doc = json.loads(line)
        received = datetime.fromisoformat(doc.pop("received_at"))
        if received > end:
            continue
        steps = -((DEFAULT_START - received) // COMMIT_EVERY)  # ceiling
        groups.setdefault(DEFAULT_START + steps * COMMIT_EVERY, []).append(doc)
    return sorted(groups.items(), key=lambda item: item[0])


async def live_picture(data: Path, scenario: Path, end: datetime) -> list[dict[str, Any]]:
    now = DEFAULT_START

    def clock() -> datetime:
        return now

    groups = commits(scenario / "reports.jsonl", end)
    assert groups[-1][0] == end
    async with clocked_server(data, clock) as live, live.client() as client:
        for at, docs in groups:
            now = at
            response = await client.post("/api/v1/reports", json=docs)
            assert response.status_code == 202, response.text
        await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)
        _, tracks = live.tessera.store.tracks("COP", TrackQuery())
        features: list[dict[str, Any]] = msgspec.json.decode(
            encode([track_feature(track) for track in tracks])
        )
    return features


async def export_journal(data: Path, target: Path) -> int:
    """The journal's reports, each stamped with the time its commit received it."""
    journal = SqliteJournal(data / "journal.sqlite3", clock=lambda: datetime.now(UTC))
    await journal.open()
    try:
        entries = await journal.read(0, 1_000_000)
    finally:
        await journal.close()
    with target.open("wb") as out:
        for entry in entries:
            if entry.report is not None:
                stamped = msgspec.structs.replace(entry.report, received_at=entry.received_at)
                out.write(encode_report(stamped) + b"\n")
    return len(entries)


def by_id(features: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(feature["id"]): feature for feature in features}


def test_the_live_picture_equals_tessera_fuse_on_its_journal(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario"
    write_scenario(build("exercise", ScenarioConfig(seed=9, rate=60.0)), scenario, SECONDS)
    end = DEFAULT_START + timedelta(seconds=SECONDS)
    data = tmp_path / "data"
    live = asyncio.run(live_picture(data, scenario, end))
    journal = tmp_path / "journal.jsonl"
    assert asyncio.run(export_journal(data, journal)) > 1_000
    picture = tmp_path / "picture.jsonl"
    assert main(["fuse", "--in", str(journal), "--out", str(picture)]) == 0
    last = json.loads(picture.read_text().splitlines()[-1])
    assert datetime.fromisoformat(last["time"]) == end
    fused = last["tracks"]
    for feature in fused:
        del feature["properties"]["lineage"]  # the snapshot's own addition
    assert len(live) > 100
    assert by_id(fused).keys() == by_id(live).keys()
    assert by_id(fused) == by_id(live)
