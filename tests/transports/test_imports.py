"""Files from other systems through POST /api/v1/imports and `tessera import`: every NVG
sample, a live round trip picture -> NVG -> import, KML shapes, hostile files refused with
nothing stored, labels enforced, and re-imports stored once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tessera.cli import main as tessera_main
from tessera.core.model import Label, Principal, Role
from tessera.core.track_names import track_name
from tessera.store.base import TrackQuery
from tests.codecs.cot_samples import cot_sample, cot_sample_names
from tests.codecs.nvg_samples import nvg_sample, nvg_sample_names
from tests.codecs.nvg_schema import assert_valid_nvg
from tests.codecs.test_nvg import EXPECTED
from tests.support import Live, live_server, report_doc

Scenario = Callable[[Live, httpx.AsyncClient], Awaitable[None]]
PICTURES = [
    {"name": "NATO", "rule": {"releasable_to": "NATO"}, "reader_communities": ["NATO"]},
    {"name": "UKR", "rule": {"releasable_to": "UKR"}, "reader_communities": ["UKR"]},
]
NATO_LABEL = {"classification": "UNCLASSIFIED", "releasable_to": "NATO"}
KML = b"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
  <Placemark><name>Bridge</name><Point><coordinates>18.01,53.02</coordinates></Point></Placemark>
  <Placemark><name>Route Gold</name>
    <LineString><coordinates>18.0,53.0 18.1,53.1 18.2,53.1</coordinates></LineString></Placemark>
  <Placemark><name>Assembly area</name><Polygon><outerBoundaryIs><LinearRing>
    <coordinates>18.0,53.0 18.1,53.0 18.1,53.1 18.0,53.0</coordinates>
  </LinearRing></outerBoundaryIs></Polygon></Placemark>
  <GroundOverlay><name>Imagery</name></GroundOverlay>
</Document></kml>"""
HOSTILE = {
    "garbage": b"\x00\xffnot a file at all",
    "truncated": b'<nvg xmlns="https://tide.act.nato.int/schemas/2012/10/nvg" '
    b'version="2.0.2"><point',
    "entities": b'<?xml version="1.0"?><!DOCTYPE nvg [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
    b'<nvg xmlns="https://tide.act.nato.int/schemas/2012/10/nvg">&b;</nvg>',
    "external": b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>&x;</name></Document></kml>',
}


def run_live(tmp_path: Path, scenario: Scenario) -> None:
    async def main() -> None:
        async with (
            live_server(tmp_path, pictures=PICTURES, tick_interval_s=3600.0) as live,
            live.client(timeout=30) as client,
        ):
            await asyncio.wait_for(scenario(live, client), 120)

    asyncio.run(main())


async def imported(
    live: Live, client: httpx.AsyncClient, data: bytes, **params: str
) -> dict[str, Any]:
    answer = await client.post("/api/v1/imports", params={**NATO_LABEL, **params}, content=data)
    assert answer.status_code in (200, 201), answer.text
    body: dict[str, Any] = answer.json()
    assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)
    return body


def test_every_nvg_sample_imports_and_a_second_import_stores_nothing(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        overlays_expected = 0
        for name in nvg_sample_names():
            reports, kinds, skipped = EXPECTED[name]
            body = await imported(live, client, nvg_sample(name))
            assert body["format"] == "nvg"
            assert (body["reports"], body["overlays"]) == (reports, sum(kinds.values())), name
            assert [item["element"] for item in body["skipped"]] == skipped
            assert all(item["line"] and item["reason"] for item in body["skipped"])
            overlays_expected += sum(kinds.values())
        listed = await client.get("/api/v1/overlays", params={"picture": "NATO"})
        assert len(listed.json()["features"]) == overlays_expected
        # Not releasable to UKR: nothing of it in the partner's picture.
        _, partner = live.tessera.store.overlays("UKR", _everything())
        assert partner == []

        before = live.tessera.journal.last_seq
        for name in nvg_sample_names():
            first = await client.post(
                "/api/v1/imports", params=NATO_LABEL, content=nvg_sample(name)
            )
            again = await imported(live, client, nvg_sample(name))
            # A repeat answers exactly as the first import did, and stores nothing.
            assert again == first.json()
        entries = await live.tessera.journal.read(before, 1_000)
        assert [e for e in entries if e.report or e.overlay] == []

    run_live(tmp_path, scenario)


def test_a_picture_exported_as_nvg_imports_with_its_positions_symbols_and_gradings(
    tmp_path: Path,
) -> None:
    docs = [
        {
            **report_doc(subject=f"unit-{i}", source=f"unit-{i}", kind="unit", lat=53 + i / 10),
            "sidc": "10061000001211000000",
            "grading": grade,
            "label": {"classification": "UNCLASSIFIED", "releasable_to": ["NATO"]},
        }
        for i, grade in enumerate(("A1", "B2", "C3"))
    ]

    async def export(live: Live, client: httpx.AsyncClient) -> None:
        posted = await client.post("/api/v1/reports", json=docs)
        assert posted.status_code in (200, 202), posted.text
        assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)
        nvg = await client.get("/api/v1/export", params={"picture": "NATO", "format": "nvg"})
        assert nvg.status_code == 200
        assert_valid_nvg(nvg.content)
        exported.append(nvg.content)
        _, tracks = live.tessera.store.tracks("NATO", _everything())
        originals.extend(tracks)

    async def reimport(live: Live, client: httpx.AsyncClient) -> None:
        # The export is marked with its picture's highest level: it imports at that level.
        body = await imported(live, client, exported[0], classification="SECRET")
        assert body["reports"] == len(originals)
        entries = await live.tessera.journal.read(0, 1_000)
        reports = [e.report for e in entries if e.report is not None]
        by_place = {round(r.position.lat, 6): r for r in reports}
        for track in originals:
            report = by_place[round(track.position.lat, 6)]
            assert report.position.lon == pytest.approx(track.position.lon, abs=1e-7)
            assert (report.sidc, report.grading) == (track.sidc, track.grading)
            assert report.name == track_name(track)
            assert report.label == Label("SECRET", ("NATO",))

    exported: list[bytes] = []
    originals: list[Any] = []
    run_live(tmp_path / "first", export)
    run_live(tmp_path / "second", reimport)


def test_kml_shapes_become_overlays_and_the_rest_is_listed_as_skipped(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        body = await imported(live, client, KML)
        assert (body["format"], body["reports"], body["overlays"]) == ("kml", 0, 3)
        assert [item["element"] for item in body["skipped"]] == ["GroundOverlay"]
        listed = (await client.get("/api/v1/overlays", params={"picture": "NATO"})).json()
        kinds = sorted(f["properties"]["kind"] for f in listed["features"])
        assert kinds == ["area", "line", "point"]
        assert {f["properties"]["author"] for f in listed["features"]} == {"test-admin"}

    run_live(tmp_path, scenario)


def test_a_file_of_cot_events_imports_its_positions_and_lists_the_rest(tmp_path: Path) -> None:
    names = [name for name in cot_sample_names() if name.endswith(".xml")]
    data = b"\n".join(cot_sample(name) for name in names)

    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        body = await imported(live, client, data)
        assert body["format"] == "cot"
        assert body["reports"] + len(body["skipped"]) == len(names)
        assert body["reports"] >= 5
        reasons = {item["reason"] for item in body["skipped"]}
        assert "a b-t-f event is not a position report" in reasons  # chat
        assert all(item["element"] == "event" and item["line"] for item in body["skipped"])
        entries = await live.tessera.journal.read(0, 1_000)
        reports = [e.report for e in entries if e.report is not None]
        assert all(r.subject and r.source.id == r.subject for r in reports)
        truncated = await client.post(
            "/api/v1/imports", params=NATO_LABEL, content=data[: len(data) - 20]
        )
        assert truncated.status_code == 422
        assert "truncated" in truncated.json()["detail"]

    run_live(tmp_path, scenario)


def test_hostile_or_broken_files_are_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        before = live.tessera.journal.last_seq
        for name, data in HOSTILE.items():
            answer = await client.post("/api/v1/imports", params=NATO_LABEL, content=data)
            assert answer.status_code == 422, (name, answer.text)
            assert answer.json()["detail"], name
        # A good file with one bad element: refused whole, the element and line named.
        bad = nvg_sample("nvg-2.0.2-points__nvg-parser.nvg").replace(b'x="', b'x="east', 1)
        answer = await client.post("/api/v1/imports", params=NATO_LABEL, content=bad)
        assert answer.status_code == 422
        assert "line" in answer.json()["detail"]
        await asyncio.sleep(0.1)
        entries = await live.tessera.journal.read(before, 100)
        assert [e for e in entries if e.report or e.overlay] == []

    run_live(tmp_path, scenario)


def test_the_label_is_required_and_never_beyond_the_importer(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        sample = nvg_sample("nvg-2.0.2-circles__nvg-parser.nvg")
        person = Principal(
            name="nato-junior",
            communities=("NATO",),
            clearance="CONFIDENTIAL",
            roles=(Role.VIEWER, Role.REPORTER),
        )
        async with live.client(await live.grant(person)) as junior:
            # No label, no default, and a file without a marking of its own.
            unmarked = nvg_sample("nvg-2.0.0-sample__spatialillusions-nvg.xml")
            unlabelled = await junior.post("/api/v1/imports", content=unmarked)
            assert unlabelled.status_code == 422
            assert unlabelled.json()["parameter"] == "classification"
            secret = await junior.post(
                "/api/v1/imports", params={"classification": "SECRET"}, content=sample
            )
            assert secret.status_code == 403
            foreign = await junior.post(
                "/api/v1/imports",
                params={"classification": "UNCLASSIFIED", "releasable_to": "UKR"},
                content=sample,
            )
            assert foreign.status_code == 403
        for params, parameter in (
            ({**NATO_LABEL, "releasable_to": "nato lower"}, "releasable_to"),
            ({**NATO_LABEL, "format": "shp"}, "format"),
            ({"classification": "COSMIC"}, "classification"),
        ):
            answer = await client.post("/api/v1/imports", params=params, content=sample)
            assert answer.status_code == 400 and answer.json()["parameter"] == parameter
        viewer = await live.grant(
            Principal(name="viewer", communities=("NATO",), clearance="SECRET")
        )
        async with live.client(viewer) as reader:
            assert (await reader.post("/api/v1/imports", content=sample)).status_code == 403

    run_live(tmp_path, scenario)


def test_the_command_line_reports_what_it_took_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = tmp_path / "sample.nvg"
    sample.write_bytes(nvg_sample("nvg-2.0.0-sample__spatialillusions-nvg.xml"))

    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        said: list[str] = []

        async def tessera(argv: list[str]) -> tuple[int, str, str]:
            code = await asyncio.to_thread(tessera_main, argv)
            out, err = capsys.readouterr()
            said.extend((out, err))
            return code, out, err

        monkeypatch.setenv("TESSERA_TOKEN", live.token)
        argv = ["import", str(sample), "--to", live.base_url, "--label", "UNCLASSIFIED:NATO"]
        code, out, _ = await tessera(argv)
        assert code == 0
        assert "0 reports, 9 overlays, 2 skipped" in out
        assert "skipped <arrow> at line 11: attribute 'width' not imported" in out
        assert "skipped <exclude> at line" in out
        # Again: the same answer, and nothing stored twice.
        before = live.tessera.journal.last_seq
        code, again, _ = await tessera(argv)
        assert code == 0 and again == out
        entries = await live.tessera.journal.read(before, 100)
        assert [e for e in entries if e.report or e.overlay] == []
        monkeypatch.setenv("TESSERA_TOKEN", "tsr_0000000000000000_wrong")
        code, _, err = await tessera(argv)
        assert code == 1 and "401" in err
        code, _, err = await tessera(["import", str(tmp_path / "none.nvg"), "--to", "x"])
        assert code == 2 and "cannot read" in err
        code, _, err = await tessera([*argv[:4], "--label", ":NATO"])
        assert code == 2 and "--label" in err
        assert not any(live.token in text for text in said)

    run_live(tmp_path / "data", scenario)


def _everything() -> TrackQuery:
    return TrackQuery()
