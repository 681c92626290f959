"""POST /api/v1/imports and `tessera import` honour a file's own security marking: an NVG,
KML or CoT file marked above the label given is refused with 422 naming the marking and
where, and nothing of it is stored; without a label the file's marking is the label; an
element marked stricter than its file keeps its own marking, and stays out of the pictures
that marking keeps it from."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tessera.cli import main as tessera_main
from tessera.core.model import Label, Principal, Role
from tessera.store.base import TrackQuery
from tests.codecs.cot_samples import cot_sample
from tests.support import Live, live_server
from tests.transports.test_imports import PICTURES, Scenario

NVG2 = "https://tide.act.nato.int/schemas/2012/10/nvg"
UNCLASSIFIED = {"classification": "UNCLASSIFIED", "releasable_to": "NATO"}
SECRET_NATO = Label("SECRET", ("NATO",))
SHARED = Label("UNCLASSIFIED", ("NATO", "UKR"))


def run_live(tmp_path: Path, scenario: Scenario) -> None:
    async def main() -> None:
        async with (
            live_server(tmp_path, pictures=PICTURES, tick_interval_s=3600.0) as live,
            live.client(timeout=30) as client,
        ):
            await asyncio.wait_for(scenario(live, client), 120)

    asyncio.run(main())


def nvg(root_marking: str, *shapes: str) -> bytes:
    body = "\n".join(shapes)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<nvg xmlns="{NVG2}" version="2.0.2" '
        f'classification="{root_marking}">\n{body}\n</nvg>'
    ).encode()


def circle(n: int, extra: str = "") -> str:
    return f'<circle uri="c{n}" label="C{n}" cx="18.{n}" cy="53.0" r="500" {extra}/>'


async def refused_and_nothing_stored(
    live: Live, client: httpx.AsyncClient, data: bytes, params: dict[str, str]
) -> str:
    before = live.tessera.journal.last_seq
    answer = await client.post("/api/v1/imports", params=params, content=data)
    assert answer.status_code == 422, answer.text
    await asyncio.sleep(0.1)
    entries = await live.tessera.journal.read(before, 100)
    assert [e for e in entries if e.report or e.overlay] == []
    detail: str = answer.json()["detail"]
    return detail


async def imported(
    live: Live, client: httpx.AsyncClient, data: bytes, params: dict[str, str] | None = None
) -> dict[str, Any]:
    answer = await client.post("/api/v1/imports", params=params or {}, content=data)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 30)
    return body


def overlay_labels(live: Live, picture: str) -> dict[str, Label]:
    _, overlays = live.tessera.store.overlays(picture, TrackQuery())
    return {overlay.name: overlay.label for overlay in overlays}


def test_an_nvg_file_marked_secret_is_refused_as_unclassified_and_takes_its_marking(
    tmp_path: Path,
) -> None:
    marked = nvg("SECRET//REL TO NATO", circle(1), circle(2))
    mixed = nvg("UNCLASSIFIED//REL TO NATO, UKR", circle(3), circle(4, 'classification="NS"'))

    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        detail = await refused_and_nothing_stored(live, client, marked, UNCLASSIFIED)
        assert detail.startswith("<nvg> at line 2: marked 'SECRET//REL TO NATO', above the label")
        # No label given: the file's marking, not the sender's default (UNCLASSIFIED).
        body = await imported(live, client, marked)
        assert body["label"] == {"classification": "SECRET", "releasable_to": ["NATO"]}
        assert (body["label_from"], body["own_marking"], body["overlays"]) == ("marking", 0, 2)
        assert overlay_labels(live, "NATO") == {"C1": SECRET_NATO, "C2": SECRET_NATO}
        # A shape marked stricter than its file keeps its own marking: not for UKR.
        body = await imported(live, client, mixed)
        assert (body["label_from"], body["own_marking"]) == ("marking", 1)
        assert overlay_labels(live, "NATO")["C4"] == SECRET_NATO
        assert overlay_labels(live, "UKR") == {"C3": SHARED}
        # Given, the label may not release the file beyond its REL TO.
        detail = await refused_and_nothing_stored(
            live, client, marked, {"classification": "SECRET", "releasable_to": "NATO,UKR"}
        )
        assert "releasable only to NATO; the label given would release it to UKR" in detail

    run_live(tmp_path, scenario)


def test_an_importer_never_takes_a_files_marking_it_could_not_read(tmp_path: Path) -> None:
    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        junior = Principal(
            name="nato-junior",
            communities=("NATO",),
            clearance="CONFIDENTIAL",
            roles=(Role.VIEWER, Role.REPORTER),
        )
        before = live.tessera.journal.last_seq
        async with live.client(await live.grant(junior)) as importer:
            answer = await importer.post("/api/v1/imports", content=nvg("NATO SECRET", circle(1)))
            assert answer.status_code == 403
            assert "the file's own marking labels it SECRET:NATO" in answer.json()["error"]
            unmarked = nvg("", circle(2))  # neither a label, a marking nor a default
            answer = await importer.post("/api/v1/imports", content=unmarked)
            assert answer.status_code == 422
            assert answer.json()["parameter"] == "classification"
        entries = await live.tessera.journal.read(before, 100)
        assert [e for e in entries if e.report or e.overlay] == []

    run_live(tmp_path, scenario)


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>{banner}</name>
<Placemark><name>Bridge</name><Point><coordinates>18.01,53.02</coordinates></Point></Placemark>
<Placemark><name>Depot</name>
  <ExtendedData><Data name="classification"><value>SECRET</value></Data>
  <Data name="releasable_to"><value>NATO</value></Data></ExtendedData>
  <Point><coordinates>18.02,53.03</coordinates></Point></Placemark>
</Document></kml>"""


def test_a_kml_file_marked_secret_is_refused_as_unclassified_and_takes_its_marking(
    tmp_path: Path,
) -> None:
    secret = KML.format(banner="SECRET//REL TO NATO").encode()
    shared = KML.format(banner="UNCLASSIFIED//REL TO NATO, UKR").encode()

    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        detail = await refused_and_nothing_stored(live, client, secret, UNCLASSIFIED)
        assert detail.startswith("<name> at line 2: marked 'SECRET//REL TO NATO', above")
        body = await imported(live, client, secret)
        assert body["label"] == {"classification": "SECRET", "releasable_to": ["NATO"]}
        assert overlay_labels(live, "NATO") == {"Bridge": SECRET_NATO, "Depot": SECRET_NATO}
        # The placemark marked stricter than its document keeps its own marking.
        detail = await refused_and_nothing_stored(
            live, client, shared, {"classification": "UNCLASSIFIED", "releasable_to": "NATO"}
        )
        assert detail.startswith("<Placemark> at line 4: marked 'SECRET', above")
        body = await imported(live, client, shared)
        assert (body["label_from"], body["own_marking"]) == ("marking", 1)
        assert overlay_labels(live, "UKR") == {"Bridge": SHARED}

    run_live(tmp_path, scenario)


MARKER = cot_sample("atak-marker-2525-a-u-G__freetaktest.xml")


def event(uid: str, attributes: str) -> bytes:
    marker = MARKER.replace(b"a0c524c6-0422-4382-9981-e39d1dc71730", uid.encode())
    return marker.replace(b"type='a-u-G'", f"type='a-u-G' {attributes}".encode())


def test_cot_events_marked_secret_are_refused_as_unclassified_and_keep_their_marking(
    tmp_path: Path,
) -> None:
    data = b"\n".join(
        (
            event("m-unclas", "access='Unclassified' releaseableTo='NATO,UKR'"),
            event("m-secret", "access='Secret' releaseableTo='NATO'"),
        )
    )

    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        detail = await refused_and_nothing_stored(live, client, data, UNCLASSIFIED)
        assert detail.startswith("event 2 (line 17): marked 'Secret//REL TO NATO', above")
        # No label given: each event its own marking, before the sender's default.
        body = await imported(live, client, data)
        assert (body["reports"], body["label_from"], body["own_marking"]) == (2, "default", 2)
        entries = await live.tessera.journal.read(0, 100)
        labels = {e.report.subject: e.report.label for e in entries if e.report is not None}
        assert labels == {"m-unclas": SHARED, "m-secret": SECRET_NATO}

    run_live(tmp_path, scenario)


def test_the_command_line_says_which_label_it_used_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    marked = tmp_path / "marked.nvg"
    marked.write_bytes(nvg("NATO SECRET", circle(1), circle(2, 'classification="SECRET"')))
    unmarked = tmp_path / "unmarked.nvg"
    unmarked.write_bytes(nvg("", circle(3)))

    async def scenario(live: Live, client: httpx.AsyncClient) -> None:
        monkeypatch.setenv("TESSERA_TOKEN", live.token)

        async def tessera(*argv: str) -> tuple[int, str, str]:
            code = await asyncio.to_thread(tessera_main, ["import", *argv, "--to", live.base_url])
            out, err = capsys.readouterr()
            return code, out, err

        code, out, _ = await tessera(str(marked))
        assert code == 0
        assert "labelled SECRET:NATO (the file's own marking)" in out
        code, out, _ = await tessera(str(unmarked))
        assert code == 0 and "labelled UNCLASSIFIED (your default label)" in out
        code, out, _ = await tessera(str(unmarked), "--label", "RESTRICTED:NATO,UKR")
        assert code == 0 and "labelled RESTRICTED:NATO,UKR (given)" in out
        code, _, err = await tessera(str(marked), "--label", "UNCLASSIFIED:NATO")
        assert code == 1
        assert "422" in err and "marked 'NATO SECRET', above the label given" in err

    run_live(tmp_path / "data", scenario)
