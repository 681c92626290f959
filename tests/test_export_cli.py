"""``tessera export`` against a live server: the file written where asked (or under the
server's name), a one-line summary, clear refusals, and the token never shown."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import pytest

from tessera.cli import main
from tessera.core.model import Principal, Role, TrackStatus
from tessera.store.base import TrackQuery
from tests.codecs.nvg_schema import assert_valid_nvg
from tests.kml_schema import valid_kml
from tests.support import Live, live_server, report_doc, track_of

PICTURES = [
    {"name": "NATO", "rule": {"releasable_to": "NATO"}, "reader_communities": ["NATO"]},
    {"name": "UKR", "rule": {"releasable_to": "UKR"}, "reader_communities": ["UKR"]},
]
SHARED = {"classification": "RESTRICTED", "releasable_to": ["NATO", "UKR"]}
PARTNER = Principal(name="partner", communities=("UKR",), clearance="SECRET")


async def export(*argv: str) -> int:
    # The command is synchronous and the server runs in this loop: run it beside the loop.
    return await asyncio.to_thread(main, ["export", *argv])


def run_live(tmp_path: Path, scenario: Callable[[Live], Awaitable[None]]) -> None:
    """Run ``scenario`` against a live server holding one track in the UKR picture."""

    async def go() -> None:
        async with live_server(tmp_path / "data", pictures=PICTURES) as live:
            async with live.client() as admin:
                posted = await admin.post(
                    "/api/v1/reports", json=[report_doc(report_id="s1", lat=54.0, label=SHARED)]
                )
                assert posted.status_code in (200, 202), posted.text
            assert await live.tessera.worker.wait_caught_up(live.tessera.journal.last_seq, 10)
            await asyncio.wait_for(scenario(live), 60)

    asyncio.run(go())


def test_export_writes_the_file_and_says_how_much(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TESSERA_TOKEN", raising=False)
    token_file = tmp_path / "partner.token"
    out = tmp_path / "picture.kmz"

    async def scenario(live: Live) -> None:
        token = await live.grant(PARTNER)
        token_file.write_text(token + "\n")
        code = await export(
            "--to", live.base_url, "--picture", "UKR", "--format", "kmz",
            "--token-file", str(token_file), "-o", str(out),
        )  # fmt: skip
        assert code == 0
        printed = capsys.readouterr()
        assert printed.out == f"wrote {out.stat().st_size:,} bytes to {out}\n"
        assert token not in printed.out + printed.err

    run_live(tmp_path, scenario)
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as archive:
        assert archive.namelist()[0] == "doc.kml"
    valid_kml(out.read_bytes())
    # Nothing else: the partial file it wrote first was renamed into place.
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "data", "partner.token", "picture.kmz",
    ]  # fmt: skip


def test_an_nvg_export_is_valid_nvg_2_0_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "picture.nvg"

    async def scenario(live: Live) -> None:
        monkeypatch.setenv("TESSERA_TOKEN", await live.grant(PARTNER))
        args = ["--to", live.base_url, "--picture", "UKR", "--format", "nvg", "-o", str(out)]
        assert await export(*args) == 0
        assert capsys.readouterr().out == f"wrote {out.stat().st_size:,} bytes to {out}\n"

    run_live(tmp_path, scenario)
    assert b"<point " in out.read_bytes()
    assert_valid_nvg(out.read_bytes())


def test_without_out_the_file_takes_the_servers_name_in_the_current_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)

    async def scenario(live: Live) -> None:
        monkeypatch.setenv("TESSERA_TOKEN", await live.grant(PARTNER))
        code = await export("--to", live.base_url + "/", "--picture", "UKR", "--format", "geojson")
        assert code == 0
        written = here / "UKR.geojson"
        assert capsys.readouterr().out == f"wrote {written.stat().st_size:,} bytes to UKR.geojson\n"
        collection = json.loads(written.read_bytes())
        assert [feature["id"] for feature in collection["features"]] == [track_of(live, "s1")]

    run_live(tmp_path, scenario)


def test_without_a_token_it_refuses_before_asking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TESSERA_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    code = main(["export", "--to", "http://127.0.0.1:9", "--picture", "UKR", "--format", "kml"])
    assert code == 2
    err = capsys.readouterr().err
    assert "exporting needs a viewer's token: --token-file FILE or $TESSERA_TOKEN" in err
    empty = tmp_path / "empty.token"
    empty.write_text("\n")
    args = ["--picture", "UKR", "--format", "kml", "--token-file", str(empty)]
    assert main(["export", *args]) == 2
    assert "needs a viewer's token" in capsys.readouterr().err
    assert main(["export", *args[:-1], str(tmp_path / "missing.token")]) == 2
    assert "cannot read the token file" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["empty.token"]


def test_refusals_are_said_plainly_and_leave_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    bogus = "tsr_0000000000000000_not-a-real-token-at-all-000000000000000"

    async def scenario(live: Live) -> None:
        reporter = Principal(name="feeder", communities=("UKR",), roles=(Role.REPORTER,))
        cases = [
            (await live.grant(PARTNER), "NATO", "no picture 'NATO' that this token may read (404)"),
            (bogus, "UKR", "the server refused the token (401): unknown, expired or revoked"),
            (await live.grant(reporter), "UKR", "may not read pictures (403)"),
        ]
        for token, picture, message in cases:
            monkeypatch.setenv("TESSERA_TOKEN", token)
            args = ["--to", live.base_url, "--picture", picture, "--format", "nvg"]
            assert await export(*args) == 1
            printed = capsys.readouterr()
            assert printed.out == "" and message in printed.err, printed.err
            assert printed.err.startswith("tessera export: ")
            assert token not in printed.err

    run_live(tmp_path, scenario)
    assert list(here.iterdir()) == []


def test_a_server_that_does_not_answer_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESSERA_TOKEN", "tsr_secret")
    monkeypatch.chdir(tmp_path)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening
        code = main(["export", "--to", url, "--picture", "UKR", "--format", "kmz"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tessera export: cannot export from {url}: ")
    assert "tsr_secret" not in err
    assert list(tmp_path.iterdir()) == []


def test_status_asks_for_dead_tracks_which_are_left_out_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    async def scenario(live: Live) -> None:
        monkeypatch.setenv("TESSERA_TOKEN", await live.grant(PARTNER))
        store = live.tessera.store
        _, (track,) = store.tracks("UKR", TrackQuery())
        store.apply(
            "UKR",
            store.seq("UKR") + 1,
            [msgspec.structs.replace(track, status=TrackStatus.DEAD)],
            [],
        )
        common = ["--to", live.base_url, "--picture", "UKR", "--format", "geojson"]
        assert await export(*common, "-o", "live.geojson") == 0
        assert await export(*common, "--status", "dead", "-o", "dead.geojson") == 0
        assert await export(*common, "--status", "confirmed,coasting", "-o", "none.geojson") == 0
        capsys.readouterr()

    run_live(tmp_path, scenario)

    def ids(name: str) -> list[str]:
        return [f["id"] for f in json.loads((tmp_path / name).read_bytes())["features"]]

    assert ids("live.geojson") == ids("none.geojson") == []
    (dead,) = json.loads((tmp_path / "dead.geojson").read_bytes())["features"]
    assert dead["properties"]["status"] == "dead"


@pytest.mark.parametrize("status", ["zombie", "", ",", "dead,zombie"])
def test_an_unknown_status_is_a_usage_error(
    status: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESSERA_TOKEN", "tsr_secret")
    monkeypatch.chdir(tmp_path)
    args = ["export", "--picture", "UKR", "--format", "kml", "--status", status]
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--status" in err and "tentative, confirmed, coasting, stale, dead" in err
    assert list(tmp_path.iterdir()) == []
