"""Scoring a small hand-written run, where every number can be worked out by hand.

Truths on one meridian: u-1 (friend), u-2 (hostile), u-3 (neutral), u-4 (hostile).
Reports: u-1 first at 08:59:55, u-2 at 09:00:02, u-3 at 09:00:15, u-4 never.

09:00:00  u-1 only is reported. trk-1 confirmed 100 m off it, assumed-friend, lineage r1;
          trk-9 is tentative, so not scored.                       gospa 100, purity 1, id 1/1
09:00:10  u-1, u-2. trk-1 coasting 50 m off u-1 (friend; r1, r2 and the false r4: 2/3 pure);
          trk-2 confirmed on u-2 but "unknown"; trk-8 dead.          gospa 50, purity 5/6, id 1/2
09:00:15  a picture with no truth line: skipped.
09:00:20  u-1, u-2, u-3. trk-3 confirmed on u-1 but hostile (a switch from trk-1);
          trk-2 coasting on u-2, suspect; trk-4 on u-3 is tentative, so u-3 is missed;
          trk-5 (false report r4) and trk-6 (only unknown reports) far off: two false tracks.
                                              gospa sqrt(3 * 125,000), purity (1+1+0)/3, id 1/2
Time to confirm: u-1 5 s (09:00:00), u-2 8 s (09:00:10); u-3 never.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tessera.scoring.metrics import Score, same_side, score_files, track_purity
from tests.scoring.runs import north, source, track, truth_object, write_lines

U1, U2, U3, U4 = 53.0, 53.1, 53.2, 53.3
FAR = 54.0
T0, T1, T15, T2 = (f"2026-05-04T09:00:{s}Z" for s in ("00", "10", "15", "20"))


def truths() -> list[dict[str, object]]:
    return [
        truth_object("u-1", U1, "friend"),
        truth_object("u-2", U2, "hostile"),
        truth_object("u-3", U3, "neutral"),
        truth_object("u-4", U4, "hostile"),
    ]


def write_run(folder: Path) -> Path:
    """Write the run of the module docstring; returns the truth file's path."""
    write_lines(
        folder / "sources.jsonl",
        [
            source("r1", "u-1", "2026-05-04T08:59:55Z"),
            source("r2", "u-1", "2026-05-04T09:00:05Z"),
            source("r3", "u-2", "2026-05-04T09:00:02Z"),
            source("r4", None, "2026-05-04T09:00:01Z"),
            source("r5", "u-3", "2026-05-04T09:00:15Z"),
        ],
    )
    write_lines(
        folder / "picture.jsonl",
        [
            {
                "time": T0,
                "tracks": [
                    track("trk-1", north(U1, 100), "confirmed", "assumed-friend", ["r1"]),
                    track("trk-9", U2, "tentative", "hostile", ["r3"]),
                ],
            },
            {
                "time": T1,
                "tracks": [
                    track("trk-1", north(U1, 50), "coasting", "friend", ["r1", "r2", "r4"]),
                    track("trk-2", U2, "confirmed", "unknown", ["r3"]),
                    track("trk-8", U4, "dead", "hostile", ["r3"]),
                ],
            },
            {"time": T15, "tracks": []},
            {
                "time": T2,
                "tracks": [
                    track("trk-3", U1, "confirmed", "hostile", ["r2"]),
                    track("trk-2", U2, "coasting", "suspect", ["r3"]),
                    track("trk-4", U3, "tentative", "neutral", ["r5"]),
                    track("trk-5", FAR, "confirmed", "hostile", ["r4", "zz-unknown"]),
                    track("trk-6", north(FAR, 5000), "confirmed", "hostile", ["zz-unknown"]),
                ],
            },
        ],
    )
    truth_lines = [{"time": moment, "objects": truths()} for moment in (T0, T1, T2)]
    truth_lines.append({"time": "2026-05-04T09:00:30Z", "objects": truths()})
    return write_lines(folder / "truth.jsonl", truth_lines)


@pytest.fixture
def result(tmp_path: Path) -> Score:
    return score_files(write_run(tmp_path), tmp_path / "picture.jsonl")


def test_only_pictures_with_a_truth_line_are_scored(result: Score) -> None:
    assert [s.time.isoformat() for s in result.snapshots] == [
        "2026-05-04T09:00:00+00:00",
        "2026-05-04T09:00:10+00:00",
        "2026-05-04T09:00:20+00:00",
    ]
    assert (result.overall.snapshots, result.overall.skipped) == (3, 1)


def test_unreported_truths_and_tentative_or_dead_tracks_are_not_scored(result: Score) -> None:
    assert [(s.truths, s.tracks) for s in result.snapshots] == [(1, 1), (2, 2), (3, 4)]


def test_gospa_per_snapshot(result: Score) -> None:
    first, second, third = result.snapshots
    assert first.gospa == pytest.approx(100.0)
    assert second.gospa == pytest.approx(50.0)
    assert second.localisation == pytest.approx(2_500.0)
    assert (third.missed, third.false) == (1, 2)
    assert third.missed_part == pytest.approx(125_000.0)
    assert third.false_part == pytest.approx(250_000.0)
    assert third.gospa == pytest.approx(math.sqrt(375_000.0))
    assert result.overall.mean_gospa == pytest.approx((150.0 + math.sqrt(375_000.0)) / 3)
    assert result.overall.mean_missed == pytest.approx(1 / 3)
    assert result.overall.mean_false_part == pytest.approx(250_000.0 / 3)


def test_purity(result: Score) -> None:
    assert [s.purity for s in result.snapshots] == pytest.approx([1.0, 5 / 6, 2 / 3])
    assert result.overall.mean_purity == pytest.approx((1.0 + 5 / 6 + 2 / 3) / 3)


def test_identity_accuracy(result: Score) -> None:
    assert [(s.identity_correct, s.identity_matched) for s in result.snapshots] == [
        (1, 1),
        (1, 2),
        (1, 2),
    ]
    assert [s.identity_accuracy for s in result.snapshots] == [1.0, 0.5, 0.5]
    assert result.overall.identity_accuracy == pytest.approx(3 / 5)


def test_identity_switches(result: Score) -> None:
    assert [s.switches for s in result.snapshots] == [0, 0, 1]
    assert result.overall.identity_switches == 1


def test_time_to_confirm(result: Score) -> None:
    overall = result.overall
    assert overall.mean_time_to_confirm_s == pytest.approx(6.5)
    assert (overall.confirmed_truths, overall.never_confirmed) == (2, 1)


def test_an_explicit_sources_file_is_used(tmp_path: Path) -> None:
    truth_path = write_run(tmp_path)
    elsewhere = tmp_path / "other-sources.jsonl"
    (tmp_path / "sources.jsonl").rename(elsewhere)
    result = score_files(truth_path, tmp_path / "picture.jsonl", elsewhere)
    assert result.overall.snapshots == 3


def test_a_run_with_nothing_in_common_scores_nothing(tmp_path: Path) -> None:
    write_lines(tmp_path / "sources.jsonl", [])
    write_lines(tmp_path / "truth.jsonl", [{"time": T0, "objects": truths()}])
    write_lines(tmp_path / "picture.jsonl", [{"time": T1, "tracks": []}])
    overall = score_files(tmp_path / "truth.jsonl", tmp_path / "picture.jsonl").overall
    assert (overall.snapshots, overall.skipped) == (0, 1)
    assert overall.mean_gospa is None
    assert overall.identity_accuracy is None
    assert overall.mean_time_to_confirm_s is None


def test_track_purity_counts_false_reports_but_never_as_pure() -> None:
    truth_of_report = {"a": "u-1", "b": "u-1", "c": "u-2", "f": None, "g": None}
    assert track_purity(["a", "b", "c"], truth_of_report) == pytest.approx(2 / 3)
    assert track_purity(["a", "f", "g"], truth_of_report) == pytest.approx(1 / 3)
    assert track_purity(["f", "g"], truth_of_report) == 0.0
    assert track_purity(["unknown"], truth_of_report) is None
    assert track_purity(["a", "unknown"], truth_of_report) == 1.0


@pytest.mark.parametrize(
    ("track_identity", "truth_identity", "same"),
    [
        ("friend", "friend", True),
        ("assumed-friend", "friend", True),
        ("suspect", "hostile", True),
        ("hostile", "hostile", True),
        ("neutral", "neutral", True),
        ("hostile", "friend", False),
        ("unknown", "hostile", False),
        ("pending", "friend", False),
        ("unknown", "unknown", True),
        ("pending", "unknown", True),
        ("hostile", "unknown", False),
        ("unknown", "neutral", False),
    ],
)
def test_same_side(track_identity: str, truth_identity: str, same: bool) -> None:
    assert same_side(track_identity, truth_identity) is same
