"""The side-by-side fusion benchmark counts and scores what it says, on a tiny scenario.

The baseline here is a perfect tracker, which writes the truth itself (each object once
it has been reported): its GOSPA must be zero and its identity accuracy one, so any
error in how the harness scores either side shows.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from benchmarks import fusion_compare
from benchmarks.common import write_section
from benchmarks.fusion_compare import Plan, Row, Side

from tessera.scoring.metrics import score_files


def reported_truths(folder: Path) -> list[tuple[str, list[dict[str, Any]]]]:
    """Each truth snapshot's time, and its objects reported by then."""
    first: dict[str, datetime] = {}
    for line in (folder / "sources.jsonl").read_text().splitlines():
        origin = json.loads(line)
        received = datetime.fromisoformat(origin["received_at"])
        truth = origin["truth"]
        if truth is not None and (truth not in first or received < first[truth]):
            first[truth] = received
    snapshots = []
    for line in (folder / "truth.jsonl").read_text().splitlines():
        truth = json.loads(line)
        at = datetime.fromisoformat(truth["time"])
        objects = [obj for obj in truth["objects"] if obj["id"] in first and first[obj["id"]] <= at]
        snapshots.append((truth["time"], objects))
    return snapshots


def perfect_tracker(reports: Path, picture: Path, every: float) -> tuple[float, float]:
    with picture.open("w") as out:
        for time, objects in reported_truths(reports.parent):
            tracks = [
                {
                    "type": "Feature",
                    "id": obj["id"],
                    "geometry": {"type": "Point", "coordinates": [obj["lon"], obj["lat"]]},
                    "properties": {
                        "id": obj["id"],
                        "status": "confirmed",
                        "identity": obj["identity"],
                        "lineage": [],
                    },
                }
                for obj in objects
            ]
            out.write(json.dumps({"time": time, "tracks": tracks}) + "\n")
    return 0.5, 0.25


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Row]]:
    folder = tmp_path_factory.mktemp("bench")
    plan = Plan(seeds=(3,), variants={"exercise": (40.0, 20.0), "dense": (40.0, 20.0)})
    return folder, fusion_compare.compare_all(plan, folder, perfect_tracker)


def test_every_variant_and_seed_is_run_on_the_reports_it_counts(
    run: tuple[Path, list[Row]],
) -> None:
    folder, rows = run
    assert [(row.variant, row.seed) for row in rows] == [("exercise", 3), ("dense", 3)]
    for row in rows:
        written = folder / f"{row.variant}-{row.seed}"
        assert row.reports == len((written / "reports.jsonl").read_text().splitlines()) > 0
        # The whole command ran in its own process and wrote its picture (its CPU time may
        # pass its wall time: NumPy's threads run on both cores).
        assert row.tessera.seconds > 0 and row.tessera.cpu_seconds > 0
        assert (written / "tessera.jsonl").read_text().count("\n") >= 4


def test_both_pictures_are_scored_against_the_truth(run: tuple[Path, list[Row]]) -> None:
    folder, rows = run
    for row in rows:
        written = folder / f"{row.variant}-{row.seed}"
        assert row.stonesoup.gospa == 0.0
        assert row.stonesoup.missed == row.stonesoup.false == 0.0
        # The truth's own tracks: every identity right, an unknown one by claiming no side.
        assert row.stonesoup.identity == 1.0
        ours = score_files(written / "truth.jsonl", written / "tessera.jsonl").overall
        assert row.tessera.gospa == ours.mean_gospa
        assert row.tessera.localisation == ours.mean_localisation
        assert row.tessera.missed == ours.mean_missed
        assert row.tessera.false == ours.mean_false
        assert row.tessera.identity == ours.identity_accuracy
        assert row.tessera.gospa > 0


def test_ratios_and_rates_are_reports_over_seconds() -> None:
    def side(seconds: float, gospa: float) -> Side:
        return Side(seconds, seconds / 2, gospa, 1.0, 2.0, 3.0, 0.995)

    rows = [
        Row("exercise", 1, 1_000, side(0.1, 50.0), side(10.0, 100.0)),
        Row("exercise", 2, 3_000, side(0.3, 80.0), side(10.0, 100.0)),
    ]
    assert fusion_compare.speed_ratio(rows[0]) == pytest.approx(100.0)
    assert fusion_compare.gospa_ratio(rows[1]) == pytest.approx(0.8)
    text = fusion_compare.markdown(rows)
    # Per variant: reports summed over seeds, over the seconds summed.
    assert "| exercise | 4,000 | tessera | 10,000 | 65 |" in text
    assert "| exercise | 4,000 | stonesoup | 200 | 100 |" in text
    assert "| exercise | | **ratio** | **50x** | **0.65x** |" in text
    assert "runs **33-100x** Stone Soup's reports/s" in text
    assert "| exercise | 2 | 3,000 | 10,000 | 20,000 | 300 | 600 | 33x | 80 | 100 | 0.80x |" in (
        text
    )


def test_the_section_is_replaced_in_place(tmp_path: Path) -> None:
    page = tmp_path / "BENCHMARKS.md"
    page.write_text("# B\n\n## Fusion\n\nthroughput\n\n## Next\n\nkept\n")
    section = fusion_compare.SECTION
    write_section(page, section, f"{section}\n\nfirst\n", deeper=True)
    write_section(page, section, f"{section}\n\nsecond\n", deeper=True)
    text = page.read_text()
    assert text.count(fusion_compare.SECTION) == 1
    assert "second" in text and "first" not in text and "kept" in text
