"""Imported units are declarations: a headquarters' hostile unit stays on the picture,
hostile, for as long as the import says it holds, then ages as any track; the importer
says how long (valid_for, valid_until; `tessera import --valid-for`), else the file, else
the server's default."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tessera.cli import main as tessera_main
from tests.support import Live, clocked_server, iso, report_doc

PICTURES = [{"name": "NATO", "rule": {"releasable_to": "NATO"}, "reader_communities": ["NATO"]}]
NATO_LABEL = {"classification": "UNCLASSIFIED", "releasable_to": "NATO"}
NS = 'xmlns="https://tide.act.nato.int/schemas/2012/10/nvg"'
# An ungraded hostile armoured unit, as a headquarters' NVG file states it.
HOSTILE_UNIT = (
    f'<nvg {NS} version="2.0.2"><point uri="urn:hq:3-bn" x="18.2" y="53.3" '
    f'symbol="app6d:10061000001211000000" label="3 Bn"/></nvg>'
).encode()


class Clock:
    def __init__(self) -> None:
        self.start = datetime.now(UTC).replace(microsecond=0)
        self.now = self.start

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> datetime:
        return self.start + timedelta(seconds=seconds)


def run(tmp_path: Path, scenario: Any, **settings: Any) -> None:
    async def main() -> None:
        clock = Clock()
        async with (
            clocked_server(
                tmp_path, clock, pictures=PICTURES, tick_interval_s=3600.0, **settings
            ) as live,
            live.client(timeout=30) as client,
        ):
            await asyncio.wait_for(scenario(live, client, clock), 120)

    asyncio.run(main())


async def caught_up(live: Live) -> None:
    assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)


async def later(live: Live, client: httpx.AsyncClient, clock: Clock, seconds: float) -> None:
    """Move the journal's clock on: the server's clock, then a report far away."""
    clock.now = clock.at(seconds)
    doc = report_doc(
        source="bn-far",
        subject="bn-far",
        kind="unit",
        identity="friend",
        lat=50.0,
        observed_at=clock.now,
    )
    assert (await client.post("/api/v1/reports", json=[doc])).status_code in (200, 202)
    await caught_up(live)


async def the_unit(client: httpx.AsyncClient) -> dict[str, Any] | None:
    tracks = (await client.get("/api/v1/tracks", params={"picture": "NATO"})).json()
    found = [f["properties"] for f in tracks["features"] if f["properties"]["subject"] != "bn-far"]
    assert len(found) <= 1, found
    return found[0] if found else None


def test_an_imported_hostile_unit_stays_hostile_on_the_picture_until_its_validity_ends(
    tmp_path: Path,
) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient, clock: Clock) -> None:
        params = {**NATO_LABEL, "valid_for": "2h"}
        answer = await client.post("/api/v1/imports", params=params, content=HOSTILE_UNIT)
        assert answer.status_code == 201, answer.text
        assert answer.json()["held"] == {"given": 1, "file": 0, "default": 0}
        await caught_up(live)
        unit = await the_unit(client)
        assert unit is not None
        assert (unit["identity"], unit["status"], unit["grading"]) == ("hostile", "confirmed", "F6")
        assert unit["valid_until"] == iso(clock.at(7200))
        # Long past the time a one-report track is dropped: still there, still hostile.
        for seconds in (600, 1800, 3600, 7199):
            await later(live, client, clock, seconds)
            unit = await the_unit(client)
            assert unit is not None, seconds
            assert (unit["identity"], unit["status"]) == ("hostile", "confirmed"), seconds
        # Its validity over, it ages as any track: dead at once (its report is two hours
        # old), dropped when dead tracks are.
        await later(live, client, clock, 7201)
        unit = await the_unit(client)
        assert unit is not None and unit["status"] == "dead" and unit["valid_until"] is None
        await later(live, client, clock, 7201 + 301)
        assert await the_unit(client) is None

    run(tmp_path, scenario)


def test_without_a_validity_given_the_file_or_the_default_says_how_long(tmp_path: Path) -> None:
    spanned = HOSTILE_UNIT.replace(
        b'label="3 Bn"/>', b'label="3 Bn"><TimeSpan><end>{}</end></TimeSpan></point>'
    )

    async def scenario(live: Live, client: httpx.AsyncClient, clock: Clock) -> None:
        answer = await client.post("/api/v1/imports", params=NATO_LABEL, content=HOSTILE_UNIT)
        assert answer.json()["held"] == {"given": 0, "file": 0, "default": 1}
        await caught_up(live)
        unit = await the_unit(client)
        assert unit is not None and unit["valid_until"] == iso(clock.at(3 * 3600))
        file_end = iso(clock.at(600))
        data = spanned.replace(b"{}", file_end.encode())
        answer = await client.post("/api/v1/imports", params=NATO_LABEL, content=data)
        assert answer.json()["held"] == {"given": 0, "file": 1, "default": 0}
        await caught_up(live)
        unit = await the_unit(client)
        assert unit is not None and unit["valid_until"] == file_end, "the newer statement"

    run(tmp_path, scenario, import_valid_for_s=3 * 3600)


@pytest.mark.parametrize(
    ("params", "parameter", "says"),
    [
        ({"valid_for": "soon"}, "valid_for", "a duration such as"),
        ({"valid_for": "8d"}, "valid_for", "at most 7 days"),
        ({"valid_until": "tomorrow"}, "valid_until", "ISO 8601"),
        ({"valid_until": "2020-01-01T00:00:00"}, "valid_until", "with its zone"),
        ({"valid_until": "2020-01-01T00:00:00Z"}, "valid_until", "in the future"),
        ({"valid_until": "2999-01-01T00:00:00Z"}, "valid_until", "at most 7 days"),
        ({"valid_until": "2999-01-01T00:00:00Z", "valid_for": "1h"}, "valid_until", "not both"),
    ],
)
def test_a_validity_that_cannot_be_used_is_refused_naming_it(
    tmp_path: Path, params: dict[str, str], parameter: str, says: str
) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient, clock: Clock) -> None:
        before = live.tessera.journal.last_seq
        answer = await client.post(
            "/api/v1/imports", params={**NATO_LABEL, **params}, content=HOSTILE_UNIT
        )
        assert answer.status_code == 400
        body = answer.json()
        assert body["parameter"] == parameter and says in body["error"], body
        assert live.tessera.journal.last_seq == before

    run(tmp_path, scenario)


def test_the_command_line_gives_the_validity_and_says_what_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = tmp_path / "hq.nvg"
    sample.write_bytes(HOSTILE_UNIT)

    async def scenario(live: Live, client: httpx.AsyncClient, clock: Clock) -> None:
        monkeypatch.setenv("TESSERA_TOKEN", live.token)
        argv = ["import", str(sample), "--to", live.base_url, "--label", "UNCLASSIFIED:NATO"]
        code = await asyncio.to_thread(tessera_main, [*argv, "--valid-for", "90m"])
        out = capsys.readouterr().out
        assert code == 0 and "held on the picture: 1 until the time given" in out
        await caught_up(live)
        unit = await the_unit(client)
        assert unit is not None and unit["valid_until"] == iso(clock.at(5400))
        until = iso(clock.at(4 * 3600))
        code = await asyncio.to_thread(tessera_main, [*argv, "--valid-until", until])
        assert code == 0
        await caught_up(live)
        unit = await the_unit(client)
        assert unit is not None and unit["valid_until"] == until

    run(tmp_path / "data", scenario)
    for wrong, says in (("--valid-for", "a duration such as"), ("--valid-until", "ISO 8601")):
        with pytest.raises(SystemExit):
            tessera_main(["import", str(sample), wrong, "soon"])
        assert says in capsys.readouterr().err
