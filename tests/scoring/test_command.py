"""`tessera score` as the CLI will call it: arguments, the table, JSON and exit codes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tessera.scoring.command import add_arguments, run
from tests.scoring.test_metrics import write_run


def arguments(*words: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tessera score")
    add_arguments(parser)
    return parser.parse_args(list(words))


def test_prints_a_table_and_the_overall_score(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = write_run(tmp_path)
    assert run(arguments("--truth", str(truth), "--picture", str(tmp_path / "picture.jsonl"))) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0].split() == [
        "time",
        "gospa",
        "loc",
        "missed",
        "false",
        "truths",
        "tracks",
        "purity",
        "id-acc",
    ]
    assert lines[1].split() == [
        "2026-05-04T09:00:00Z",
        "100.0",
        "10000",
        "0",
        "0",
        "1",
        "1",
        "1.00",
        "1.00",
    ]
    assert lines[3].split()[-2:] == ["0.67", "0.50"]
    assert "overall: 3 snapshots scored, 1 picture snapshots skipped" in out
    assert "identity switches 1" in out
    assert "time to confirm   6.5 s (mean over 2 truths), 1 never confirmed" in out


def test_quiet_snapshots_prints_only_the_overall_score(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = write_run(tmp_path)
    picture = str(tmp_path / "picture.jsonl")
    assert run(arguments("--truth", str(truth), "--picture", picture, "--quiet-snapshots")) == 0
    out = capsys.readouterr().out
    assert out.startswith("overall:")
    assert "2026-05-04T09:00:00Z" not in out


def test_json_is_one_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = write_run(tmp_path)
    sources = tmp_path / "sources.jsonl"
    words = ["--truth", str(truth), "--picture", str(tmp_path / "picture.jsonl")]
    assert run(arguments(*words, "--sources", str(sources), "--json")) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["overall"]["identity_switches"] == 1
    assert document["overall"]["skipped"] == 1
    assert document["snapshots"][0]["time"] == "2026-05-04T09:00:00Z"
    assert len(document["snapshots"]) == 3
    assert run(arguments(*words, "--json", "--quiet-snapshots")) == 0
    assert "snapshots" not in json.loads(capsys.readouterr().out)


def test_bad_input_exits_2_with_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = write_run(tmp_path)
    picture = tmp_path / "picture.jsonl"
    picture.write_text(picture.read_text() + '{"time": "2026-05-04T09:01:00Z"}\n')
    assert run(arguments("--truth", str(truth), "--picture", str(picture))) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"tessera score: {picture}, line 5: ")
    assert "missing required field `tracks`" in err
    assert len(err.splitlines()) == 1


def test_missing_sources_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = write_run(tmp_path)
    (tmp_path / "sources.jsonl").unlink()
    assert run(arguments("--truth", str(truth), "--picture", str(tmp_path / "picture.jsonl"))) == 2
    assert "sources.jsonl: cannot read" in capsys.readouterr().err


def test_truth_and_picture_are_required() -> None:
    with pytest.raises(SystemExit):
        arguments("--truth", "truth.jsonl")
