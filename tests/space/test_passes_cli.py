"""`tessera passes`: passes from element set files with no server; bad files and options
are refused with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tessera.cli import main
from tests.space.support import ELEMENTS, KYIV

OPTIONS = ["--lat", str(KYIV[0]), "--lon", str(KYIV[1]), "--start", "2025-06-28T00:00:00Z"]


def test_passes_come_as_json_lines_in_time_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["passes", str(ELEMENTS), *OPTIONS, "--hours", "3", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) > 5
    rises = [row["rise"] for row in rows]
    assert rises == sorted(rises)
    assert all(row["rise"] < row["culmination"] < row["set"] for row in rows)
    assert {row["identity"] for row in rows} == {"unknown"}


def test_the_mask_leaves_out_low_passes_and_the_table_names_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["passes", str(ELEMENTS), *OPTIONS, "--hours", "3", "--mask", "30"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("satellite")
    assert "ISS (ZARYA)" in "\n".join(lines)
    assert all(float(line.split()[-3]) >= 30.0 for line in lines[1:])


def test_a_bad_file_is_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.tle"
    bad.write_text(ELEMENTS.read_text().replace("0  9994", "0  9993"))
    assert main(["passes", str(bad), *OPTIONS]) == 1
    assert "checksum is wrong" in capsys.readouterr().err
    assert main(["passes", str(tmp_path / "missing.tle"), *OPTIONS]) == 1
    assert "missing.tle" in capsys.readouterr().err
    assert main(["passes", str(ELEMENTS), *OPTIONS, "--mask", "75"]) == 2
