"""Military grid references: GeoTrans's conversion, spaced for reading, and back."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.core.grid_refs import GridRefError, mgrs_position, mgrs_ref, spaced


def test_a_position_reads_as_an_mgrs_reference() -> None:
    # Bydgoszcz's market square, to the metre, to 10 km and to the 100 km square.
    assert mgrs_ref(53.1235, 18.0084) == "34U BD 99831 90190"
    assert mgrs_ref(53.1235, 18.0084, precision=1) == "34U BD 9 9"
    assert mgrs_ref(53.1235, 18.0084, precision=0) == "34U BD"
    # Near the poles there is no zone: UPS letters only.
    assert mgrs_ref(89.9, 0.0) == "Z AG 00000 88897"


@pytest.mark.parametrize(("lat", "lon"), [(math.nan, 0.0), (0.0, math.inf), (91.0, 0.0)])
def test_no_reference_for_no_position(lat: float, lon: float) -> None:
    assert mgrs_ref(lat, lon) is None


@pytest.mark.parametrize("text", ["", "hello", "34UBD123", "99ZZZ12"])
def test_garbage_is_refused_clearly(text: str) -> None:
    with pytest.raises(GridRefError, match="is not an MGRS reference"):
        mgrs_position(text)


def test_spacing_is_forgiving_of_how_it_was_typed() -> None:
    assert spaced(" 34ubd 9983190190") == "34U BD 99831 90190"
    assert mgrs_position("34ubd9983190190") == mgrs_position("34U BD 99831 90190")


@given(
    st.floats(min_value=-79.9, max_value=83.9, allow_nan=False),
    st.floats(min_value=-179.999, max_value=179.999, allow_nan=False),
)
def test_round_trip_lands_within_a_metre(lat: float, lon: float) -> None:
    reference = mgrs_ref(lat, lon)
    assert reference is not None
    back_lat, back_lon = mgrs_position(reference)
    # A metre-precision reference: back within its square's size.
    north_m = (lat - back_lat) * 111_320
    east_m = (lon - back_lon) * 111_320 * math.cos(math.radians(lat))
    assert abs(north_m) < 1.5 and abs(east_m) < 1.5


@pytest.mark.parametrize("lat", [-2.875477291786061e-09, -1e-7, -4e-6])
def test_a_place_a_hair_south_of_the_equator_has_a_reference_that_reads_back(lat: float) -> None:
    reference = mgrs_ref(lat, 0.0)
    assert reference is not None
    back_lat, back_lon = mgrs_position(reference)
    assert abs(back_lat - lat) * 110_574 < 1.5 and abs(back_lon) * 111_320 < 1.5
