"""The readers: typed lines, and a clear error naming the file and line for bad input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tessera.scoring.files import (
    ScoreInputError,
    read_picture,
    read_sources,
    read_truth,
    sources_next_to,
)
from tests.scoring.runs import source, track, truth_object, write_lines


def test_truth_lines_decode_in_order(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "truth.jsonl",
        [
            {"time": "2026-05-04T09:00:00Z", "objects": [truth_object("u-1", 53.1, "friend")]},
            {"time": "2026-05-04T09:00:10Z", "objects": []},
        ],
    )
    snapshots = list(read_truth(path))
    assert [s.time for s in snapshots] == [
        datetime(2026, 5, 4, 9, 0, 0, tzinfo=UTC),
        datetime(2026, 5, 4, 9, 0, 10, tzinfo=UTC),
    ]
    assert snapshots[0].objects[0].id == "u-1"
    assert snapshots[0].objects[0].lat == 53.1


def test_picture_tracks_ignore_other_properties_and_fall_back_to_the_feature_id(
    tmp_path: Path,
) -> None:
    feature = track("trk-1", 53.2, "confirmed", "hostile", ["r-1"])
    del feature["properties"]["id"]
    path = tmp_path / "picture.jsonl"
    write_lines(path, [{"time": "2026-05-04T09:00:10Z", "tracks": [feature]}])
    path.write_text(path.read_text() + "\n\n")  # blank lines at the end are fine
    (snapshot,) = read_picture(path)
    (only,) = snapshot.tracks
    assert (only.track_id, only.lat, only.lon) == ("trk-1", 53.2, 16.0)
    assert only.properties.lineage == ["r-1"]


def test_sources_keep_each_report_and_the_first_time_each_truth_was_reported(
    tmp_path: Path,
) -> None:
    path = write_lines(
        tmp_path / "sources.jsonl",
        [
            source("r-1", "u-1", "2026-05-04T09:00:05Z"),
            source("r-2", "u-1", "2026-05-04T09:00:01Z"),
            source("r-3", None, "2026-05-04T09:00:00Z"),
        ],
    )
    sources = read_sources(path)
    assert sources.truth_of_report == {"r-1": "u-1", "r-2": "u-1", "r-3": None}
    assert sources.first_received == {"u-1": datetime(2026, 5, 4, 9, 0, 1, tzinfo=UTC)}
    assert sources_next_to(tmp_path / "truth.jsonl") == path


GOOD_TRUTH = {"time": "2026-05-04T09:00:00Z", "objects": []}


@pytest.mark.parametrize(
    ("second_line", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('{"objects": []}', "missing required field `time`"),
        ('{"time": "2026-05-04T09:00:10", "objects": []}', "timezone"),
        ('{"time": "2026-05-04T08:00:00Z", "objects": []}', "time order"),
        (
            '{"time": "2026-05-04T09:00:10Z", "objects": [{"id": "u", "lat": 95, "lon": 1,'
            ' "identity": "friend"}]}',
            "<= 90",
        ),
    ],
)
def test_bad_truth_lines_name_the_file_and_line(
    tmp_path: Path, second_line: str, reason: str
) -> None:
    path = write_lines(tmp_path / "truth.jsonl", [GOOD_TRUTH])
    path.write_text(path.read_text() + second_line + "\n")
    with pytest.raises(ScoreInputError, match=reason) as caught:
        list(read_truth(path))
    assert f"{path}, line 2:" in str(caught.value)


@pytest.mark.parametrize(
    ("second_line", "reason"),
    [
        (
            b'{"time": "2026-05-04T09:00:10Z", "objects": [{"id": "u\xff", "lat": 1, "lon": 1,'
            b' "identity": "friend"}]}',
            "not valid UTF-8",
        ),
        (b'{"deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    ],
)
def test_truth_lines_msgspec_cannot_read_name_the_file_and_line(
    tmp_path: Path, second_line: bytes, reason: str
) -> None:
    path = write_lines(tmp_path / "truth.jsonl", [GOOD_TRUTH])
    path.write_bytes(path.read_bytes() + second_line + b"\n")
    with pytest.raises(ScoreInputError, match=reason) as caught:
        list(read_truth(path))
    assert f"{path}, line 2:" in str(caught.value)


def without_status(feature: dict[str, Any]) -> None:
    del feature["properties"]["status"]


def without_lineage(feature: dict[str, Any]) -> None:
    del feature["properties"]["lineage"]


def without_any_id(feature: dict[str, Any]) -> None:
    del feature["id"], feature["properties"]["id"]


def off_the_globe(feature: dict[str, Any]) -> None:
    feature["geometry"]["coordinates"] = [200.0, 53.0]


def as_a_line(feature: dict[str, Any]) -> None:
    feature["geometry"]["type"] = "LineString"


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (without_status, "missing required field `status`"),
        (without_lineage, "missing required field `lineage`"),
        (without_any_id, "no id"),
        (off_the_globe, "not a longitude"),
        (as_a_line, "'LineString'"),
    ],
)
def test_bad_picture_lines_name_the_file_and_line(
    tmp_path: Path, spoil: Callable[[dict[str, Any]], None], reason: str
) -> None:
    feature = track("trk-1", 53.0, "confirmed", "friend", [])
    spoil(feature)
    path = write_lines(
        tmp_path / "picture.jsonl", [{"time": "2026-05-04T09:00:00Z", "tracks": [feature]}]
    )
    with pytest.raises(ScoreInputError, match=reason) as caught:
        list(read_picture(path))
    assert f"{path}, line 1:" in str(caught.value)


def test_a_source_line_without_a_field_names_the_file_and_line(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "sources.jsonl",
        [source("r-1", "u-1", "2026-05-04T09:00:00Z"), {"report": "r-2", "truth": None}],
    )
    with pytest.raises(ScoreInputError, match="missing required field `received_at`") as caught:
        read_sources(path)
    assert f"{path}, line 2:" in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "truth.jsonl"
    with pytest.raises(ScoreInputError, match="cannot read") as caught:
        list(read_truth(path))
    assert str(path) in str(caught.value)
