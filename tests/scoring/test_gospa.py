"""GOSPA against hand-computed cases, and properties that hold for any input."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.scoring.gospa import LatLon, gospa, haversine_m
from tests.scoring.runs import LON, METRES_PER_DEGREE_LAT, north

BASE = 53.0
MISS_OR_FALSE = 500.0**2 / 2  # c^p / alpha with the defaults


def along(*metres: float) -> list[LatLon]:
    """Points on one meridian, each ``metres`` north of a base point."""
    return [(north(BASE, m), LON) for m in metres]


def test_haversine_gives_a_degree_of_latitude_and_zero_for_one_point() -> None:
    assert haversine_m((53.0, 16.0), (54.0, 16.0)) == pytest.approx(METRES_PER_DEGREE_LAT)
    assert haversine_m((53.0, 16.0), (53.0, 16.0)) == 0.0


def test_one_truth_one_track_300_m_apart_is_300() -> None:
    result = gospa(along(0), along(300))
    assert result.gospa == pytest.approx(300.0)
    assert result.localisation == pytest.approx(90_000.0)
    assert (result.missed, result.false) == (0, 0)
    assert (result.missed_part, result.false_part) == (0.0, 0.0)
    assert [(p.truth, p.track) for p in result.assignment] == [(0, 0)]
    assert result.assignment[0].distance_m == pytest.approx(300.0)


def test_a_pair_beyond_the_cutoff_is_one_missed_and_one_false() -> None:
    result = gospa(along(0), along(600))
    assert result.gospa == pytest.approx(math.sqrt(MISS_OR_FALSE * 2)) == pytest.approx(500.0)
    assert (result.missed, result.false) == (1, 1)
    assert result.missed_part == result.false_part == MISS_OR_FALSE
    assert result.localisation == 0.0
    assert result.assignment == ()


def test_empty_sets() -> None:
    nothing = gospa([], [])
    assert (nothing.gospa, nothing.missed, nothing.false, nothing.assignment) == (0.0, 0, 0, ())
    only_truths = gospa(along(0, 1000), [])
    assert (only_truths.missed, only_truths.false) == (2, 0)
    assert only_truths.gospa == pytest.approx(500.0)
    only_tracks = gospa([], along(0))
    assert (only_tracks.missed, only_tracks.false) == (0, 1)
    assert only_tracks.gospa == pytest.approx(math.sqrt(MISS_OR_FALSE))


def test_2x2_takes_the_optimal_assignment_not_the_greedy_one() -> None:
    # Greedy would pair the closest first (truth 1 with track 0, 90 m) and be left with
    # truth 0 and track 1 at 320 m: 8,100 + 102,400. The optimum pairs in order: 110 m and
    # 120 m, 12,100 + 14,400.
    result = gospa(along(0, 200), along(110, 320))
    assert sorted((p.truth, p.track) for p in result.assignment) == [(0, 0), (1, 1)]
    assert result.localisation == pytest.approx(26_500.0)
    assert result.gospa == pytest.approx(math.sqrt(26_500.0))


def test_a_smaller_cutoff_turns_a_far_pair_into_missed_and_false() -> None:
    result = gospa(along(0), along(300), cutoff_m=200.0)
    assert (result.missed, result.false) == (1, 1)
    assert result.gospa == pytest.approx(200.0)


@pytest.mark.parametrize(
    ("cutoff_m", "order", "alpha"), [(0.0, 2.0, 2.0), (500.0, 0.5, 2.0), (500.0, 2.0, 3.0)]
)
def test_parameters_out_of_range_are_refused(cutoff_m: float, order: float, alpha: float) -> None:
    with pytest.raises(ValueError, match="must"):
        gospa(along(0), along(0), cutoff_m=cutoff_m, order=order, alpha=alpha)


# A few kilometres around one place, so that many pairs fall on either side of the cut-off.
points = st.lists(
    st.tuples(st.floats(53.0, 53.03), st.floats(16.0, 16.05)),
    max_size=6,
)


@given(truths=points, tracks=points)
def test_gospa_parts_add_up_and_it_is_symmetric(truths: list[LatLon], tracks: list[LatLon]) -> None:
    result = gospa(truths, tracks)
    assert result.gospa >= 0.0
    assert math.isclose(
        result.gospa**2,
        result.localisation + result.missed_part + result.false_part,
        rel_tol=1e-9,
        abs_tol=1e-6,
    )
    assert result.missed - result.false == len(truths) - len(tracks)
    assert all(pair.distance_m < 500.0 for pair in result.assignment)
    assert math.isclose(gospa(tracks, truths).gospa, result.gospa, rel_tol=1e-9, abs_tol=1e-6)


@given(truths=points)
def test_gospa_is_zero_when_the_tracks_are_the_truths(truths: list[LatLon]) -> None:
    result = gospa(truths, list(truths))
    assert result.gospa == 0.0
    assert (result.missed, result.false) == (0, 0)
