"""Writing a scenario to files, and feeding a server over HTTP."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tessera.sim.commands import add_arguments, run
from tessera.sim.feeder import feed
from tessera.sim.scenario import Exercise, ScenarioConfig


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_out_writes_reports_truth_and_sources(tmp_path: Path) -> None:
    code = run(parse("--out", str(tmp_path), "--duration", "60", "--rate", "50", "--seed", "3"))
    assert code == 0
    reports = [json.loads(line) for line in (tmp_path / "reports.jsonl").read_text().splitlines()]
    sources = [json.loads(line) for line in (tmp_path / "sources.jsonl").read_text().splitlines()]
    truth = [json.loads(line) for line in (tmp_path / "truth.jsonl").read_text().splitlines()]
    assert len(reports) == len(sources) > 1000
    assert [r["id"] for r in reports] == [s["report"] for s in sources]

    def moment(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    assert all(moment(r["received_at"]) >= moment(r["observed_at"]) for r in reports)
    assert len(truth) == 7
    first = truth[0]["objects"][0]
    assert set(first) == {"id", "lat", "lon", "identity", "kind"}
    assert "truth" not in reports[0], "the answer is kept apart from the reports"


def test_bad_arguments_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--rate", "0", "--out", "x"], ["--to", "u", "--out", "x"], []):
        with pytest.raises(SystemExit) as exit_info:
            parse(*argv)
        assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        parse("--out", "x", "--start", "2026-05-04T09:00:00")
    assert "zone" in capsys.readouterr().err


def test_the_feeder_sends_in_batches_and_retries_what_failed() -> None:
    received: list[str] = []
    failures = iter([503, 503])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(failures, 202)
        if status != 202:
            return httpx.Response(status, json={"error": "busy"})
        ids = [doc["id"] for doc in json.loads(request.content)]
        received.extend(ids)
        return httpx.Response(202, json={"accepted": ids, "first_seq": 1, "last_seq": len(ids)})

    start = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    scenario = Exercise(ScenarioConfig(seed=1, rate=50, start=start))
    expected = [s.report.id for s in scenario.sightings(20)]

    async def scenario_run() -> None:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://tessera") as client:
            # A clock far in the future: everything is due at once, no real waiting.
            progress = await feed(
                client,
                scenario.sightings(20),
                now=lambda: start + timedelta(days=1),
            )
        assert progress.sent == len(expected)
        assert progress.retries == 2
        assert progress.errors == 0

    asyncio.run(scenario_run())
    assert received == expected


def test_a_rejected_batch_is_counted_and_explained() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"errors": [{"index": 0, "field": "x", "reason": "y"}]})

    start = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    scenario = Exercise(ScenarioConfig(seed=1, rate=10, start=start))

    async def scenario_run() -> None:
        async with httpx.AsyncClient(
            transport=httpx.MockTransport(handler), base_url="http://tessera"
        ) as client:
            progress = await feed(
                client, scenario.sightings(5), now=lambda: start + timedelta(days=1)
            )
        assert progress.sent == 0
        assert progress.errors > 0
        assert "422" in progress.last_error

    asyncio.run(scenario_run())
