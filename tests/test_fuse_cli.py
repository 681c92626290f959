"""``tessera fuse`` and ``tessera score`` over files the simulator writes."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tessera.batchfuse.run import fuse_file
from tessera.cli import main
from tessera.core.fusion.record import TrackRecord
from tessera.core.fusion.table import TrackTable
from tessera.sim.files import write_scenario
from tessera.sim.scenario import ScenarioConfig, build


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scenario")
    write_scenario(build("exercise", ScenarioConfig(seed=5, rate=100.0)), folder, 60.0)
    return folder


def test_snapshots_fall_on_whole_multiples_and_hold_nothing_received_later(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = scenario / "picture.jsonl"
    code = main(["fuse", "--in", str(scenario / "reports.jsonl"), "--out", str(picture)])
    assert code == 0
    assert "fused" in capsys.readouterr().err
    received = {}
    for line in (scenario / "sources.jsonl").read_text().splitlines():
        origin = json.loads(line)
        received[origin["report"]] = datetime.fromisoformat(origin["received_at"])
    times = []
    for line in picture.read_text().splitlines():
        snapshot = json.loads(line)
        at = datetime.fromisoformat(snapshot["time"])
        assert at.timestamp() % 10 == 0
        times.append(at)
        for feature in snapshot["tracks"]:
            properties = feature["properties"]
            assert feature["geometry"]["type"] == "Point"
            assert properties["status"] in {"tentative", "confirmed", "coasting", "stale", "dead"}
            for key in ("id", "identity", "identity_confidence", "sidc", "updated_at"):
                assert key in properties
            assert properties["report_count"] >= len(properties["lineage"]) > 0
            assert all(received[rid] <= at for rid in properties["lineage"])
    assert times == sorted(times)
    assert len(times) >= 6


def test_the_same_file_fuses_to_the_same_picture(scenario: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for target in (first, second):
        assert main(["fuse", "--in", str(scenario / "reports.jsonl"), "--out", str(target)]) == 0
    assert first.read_bytes() == second.read_bytes()


def test_a_bad_line_is_named_and_fails_cleanly(
    tmp_path: Path, scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (scenario / "reports.jsonl").read_text().splitlines()[:3]
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([*lines, '{"id": "x"}']) + "\n")
    code = main(["fuse", "--in", str(broken), "--out", str(tmp_path / "out.jsonl")])
    assert code == 2
    assert "line 4" in capsys.readouterr().err


def test_a_line_that_is_not_utf8_is_named_and_fails_cleanly(
    tmp_path: Path, scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (scenario / "reports.jsonl").read_bytes().splitlines()[:3]
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"\n".join([*lines, b'{"id": "x\xff"}']) + b"\n")
    code = main(["fuse", "--in", str(broken), "--out", str(tmp_path / "out.jsonl")])
    assert code == 2
    assert "line 4: the line is not valid UTF-8" in capsys.readouterr().err


def test_the_picture_scores_against_the_truth(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = scenario / "scored.jsonl"
    assert main(["fuse", "--in", str(scenario / "reports.jsonl"), "--out", str(picture)]) == 0
    capsys.readouterr()
    code = main(["score", "--truth", str(scenario / "truth.jsonl"), "--picture", str(picture)])
    assert code == 0
    assert "gospa" in capsys.readouterr().out


def test_the_picture_holds_one_track_per_object_not_one_per_report(
    scenario: Path, tmp_path: Path
) -> None:
    picture = tmp_path / "picture.jsonl"
    assert main(["fuse", "--in", str(scenario / "reports.jsonl"), "--out", str(picture)]) == 0
    origins = [json.loads(line) for line in (scenario / "sources.jsonl").read_text().splitlines()]
    end = "2026-05-04T09:01:00Z"
    snapshot = next(
        json.loads(line) for line in picture.read_text().splitlines() if end in line[:40]
    )
    operational = [
        feature
        for feature in snapshot["tracks"]
        if feature["properties"]["status"] in {"confirmed", "coasting"}
    ]
    by_then = [
        o
        for o in origins
        if datetime.fromisoformat(o["received_at"]) <= datetime.fromisoformat(end)
    ]
    objects = {o["truth"] for o in by_then if o["truth"] is not None}
    assert len(by_then) > 10 * len(objects)
    assert 0.8 * len(objects) <= len(operational) <= 1.2 * len(objects)


def test_snapshots_must_fall_where_micro_batches_end(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "out.jsonl")
    source = str(scenario / "reports.jsonl")
    code = main(["fuse", "--in", source, "--out", out, "--every", "5", "--batch", "2"])
    assert code == 2
    assert "whole multiple" in capsys.readouterr().err


def _swapped(scenario: Path, tmp_path: Path) -> tuple[Path, int]:
    """The scenario's reports with one line moved below a later-received one; the line
    number that is now out of order."""
    lines = (scenario / "reports.jsonl").read_text().splitlines()
    received = [json.loads(line)["received_at"] for line in lines]
    late = next(i for i in range(1, len(lines)) if received[i] > received[0])
    moved = [*lines[1 : late + 1], lines[0], *lines[late + 1 :]]
    path = tmp_path / "swapped.jsonl"
    path.write_text("\n".join(moved) + "\n")
    return path, late + 1


def test_a_report_received_out_of_order_is_refused_with_its_line(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    swapped, line = _swapped(scenario, tmp_path)
    code = main(["fuse", "--in", str(swapped), "--out", str(tmp_path / "out.jsonl")])
    assert code != 0
    err = capsys.readouterr().err
    assert f"line {line}: received_at" in err
    assert f"earlier than line {line - 1}'s" in err
    assert "--out-of-order warn" in err


def test_out_of_order_warn_names_the_line_and_fuses_every_report(
    scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    swapped, line = _swapped(scenario, tmp_path)
    out = tmp_path / "out.jsonl"
    code = main(["fuse", "--in", str(swapped), "--out", str(out), "--out-of-order", "warn"])
    assert code == 0
    err = capsys.readouterr().err
    assert f"warning: {swapped}, line {line}: received_at" in err
    assert "1 reports out of received order" in err
    total = len((scenario / "reports.jsonl").read_text().splitlines())
    assert f"fused {total:,} reports" in err
    assert out.read_text().count("\n") >= 6


def test_fuse_imports_nothing_of_the_server(scenario: Path, tmp_path: Path) -> None:
    program = (
        "import sys\n"
        "from tessera.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "heavy = ('tessera.app', 'tessera.server', 'starlette', 'httpx', 'tessera.codecs.cot',\n"
        "         'tessera.settings', 'asyncio')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
        "sys.exit(code)\n"
    )
    source = str(scenario / "reports.jsonl")
    arguments = ["fuse", "--in", source, "--out", str(tmp_path / "out.jsonl")]
    done = subprocess.run(
        [sys.executable, "-c", program, *arguments], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_fuse_runs_with_the_servers_fusion_defaults() -> None:
    import msgspec

    from tessera.batchfuse.run import server_fusion_settings
    from tessera.settings import Settings

    defaults = {field.name: field.default for field in msgspec.structs.fields(Settings)}
    settings = server_fusion_settings()
    assert settings.lineage_window == defaults["lineage_window"]
    assert settings.batch_seconds == defaults["fusion_batch_s"]


@pytest.mark.parametrize("target", ["/dev/full", "missing-folder/picture.jsonl"])
def test_a_picture_file_that_cannot_be_written_is_named_and_fails_cleanly(
    scenario: Path, tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # /dev/full takes the file but refuses every write (a full disk); the folder is missing.
    out = target if target.startswith("/") else str(tmp_path / target)
    code = main(["fuse", "--in", str(scenario / "reports.jsonl"), "--out", out])
    assert code == 2
    assert f"tessera fuse: {out}: cannot write: " in capsys.readouterr().err


def test_tracks_only_shown_grown_are_written_as_if_built_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sweep marks a track only shown grown, and the writer then moves its last
    # feature; marked as changed outright instead, each is built anew: the same bytes.
    write_scenario(build("late", ScenarioConfig(seed=9, rate=4.0)), tmp_path, 600.0)
    reports = tmp_path / "reports.jsonl"
    shown = []
    touch_shown = TrackTable.touch_shown

    def counted(table: TrackTable, record: TrackRecord) -> None:
        shown.append(record.id)
        touch_shown(table, record)

    monkeypatch.setattr(TrackTable, "touch_shown", counted)
    fuse_file(reports, tmp_path / "moved.jsonl", 10.0)
    monkeypatch.setattr(TrackTable, "touch_shown", TrackTable.touch)
    fuse_file(reports, tmp_path / "built.jsonl", 10.0)
    assert len(shown) > 100
    assert (tmp_path / "moved.jsonl").read_bytes() == (tmp_path / "built.jsonl").read_bytes()
