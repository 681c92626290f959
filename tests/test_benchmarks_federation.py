"""The federation benchmark's quick mode: through the impairment proxy at 64 kbit/s with
2 % loss, 300 ms latency and an outage (shortened), nothing is lost or doubled, and every
figure is given (no timing thresholds: timings are for BENCHMARKS.md)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.exercise_load import ExerciseLoad
from benchmarks.federation import LINE, QUICK, QUICK_EXERCISE, SECTION, exercise, markdown

from tests.federation.support import run


def test_quick_mode_loses_and_doubles_nothing_through_an_outage(tmp_path: Path) -> None:
    rows = []

    async def scenario() -> None:
        rows.append(await exercise(QUICK, tmp_path))

    run(scenario())
    row = rows[0]
    assert LINE.rate_bps == 64_000 and LINE.loss == 0.02
    assert row["reports"] == row["held"] > 0
    assert row["lost"] == 0 and row["doubled"] == 0
    assert row["reconnects"] >= 1  # the outage cut the link
    numbers = [value for value in row.values() if isinstance(value, float)]
    assert all(math.isfinite(value) and value >= 0 for value in numbers)
    assert row["wire_bytes_per_report"] < row["tak_proto_bytes_per_report"]
    text = markdown(row, QUICK, "python benchmarks/federation.py --quick", "now")
    assert text.startswith(SECTION)


def test_quick_exercise_mode_releases_part_of_the_exercise_and_loses_nothing(
    tmp_path: Path,
) -> None:
    rows = []

    async def scenario() -> None:
        rows.append(await exercise(QUICK_EXERCISE, tmp_path))

    run(scenario())
    row = rows[0]
    assert row["load"] == "exercise" and "UKR" in row["release"]
    # The partner sees a part of the exercise, not all of it and not nothing.
    assert 0 < row["released"] < row["reports"]
    assert row["doubled"] == 0 and row["duplicates_at_peer"] == 0
    if row["caught_up"]:
        assert row["lost"] == 0 and row["held"] == row["released"]
    else:  # the line could not carry it: said so, with how far behind
        assert row["behind_reports"] > 0 and row["behind_s"] > 0
    text = markdown(row, QUICK_EXERCISE, "python benchmarks/federation.py --quick", "now")
    assert "releasable to UKR" in text
    behind = {**row, "caught_up": False, "behind_reports": 12, "behind_s": 40.0}
    assert "did not carry the released rate" in markdown(behind, QUICK_EXERCISE, "c", "now")


def test_the_exercise_load_is_the_same_for_the_same_seed() -> None:
    now = datetime.now(UTC)
    first, second = ExerciseLoad(), ExerciseLoad()
    ids = [[r.id for r in load.tick(2.0, now)] for load in (first, second)]
    assert ids[0] == ids[1] and ids[0]
