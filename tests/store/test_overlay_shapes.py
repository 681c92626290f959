"""Overlays' shapes and the box test, on any shape a store may hold: never an error, and
what the shape holds is found."""

from __future__ import annotations

import math

import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.core.overlays import Overlay, OverlayKind, geometry_problems
from tessera.store.base import TrackQuery
from tessera.store.overlay_shapes import ShapeMemo, crosses_antimeridian, overlay_shape
from tests.store.builders import overlay

longitudes = st.floats(-180.0, 180.0)
latitudes = st.floats(-90.0, 90.0)
positions = st.tuples(longitudes, latitudes) | st.tuples(
    longitudes, latitudes, st.floats(-1e4, 1e4)
)


@st.composite
def any_overlay(draw: st.DrawFn) -> Overlay:
    """Any kind with any positions: self-crossing areas, repeated points, rings too short
    to close, shapes across the antimeridian or over a pole."""
    kind = draw(st.sampled_from(OverlayKind))
    count = 1 if kind in (OverlayKind.POINT, OverlayKind.CIRCLE) else draw(st.integers(1, 8))
    coordinates = draw(st.lists(positions, min_size=count, max_size=count))
    radius = draw(st.floats(1.0, 1e7)) if kind is OverlayKind.CIRCLE else None
    width = draw(st.floats(1.0, 1e6)) if kind is OverlayKind.CORRIDOR else None
    return overlay("o", kind, coordinates, radius_m=radius, width_m=width)


boxes = st.tuples(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-90.0, 90.0) | st.floats(),
    st.floats(-180.0, 180.0),
    st.floats(-90.0, 90.0),
)


@given(any_overlay(), boxes)
@settings(max_examples=300, deadline=None)
def test_any_shape_answers_any_box(shape: Overlay, box: tuple[float, float, float, float]) -> None:
    query = TrackQuery(bbox=box)
    found = query.matches_overlay(shape)
    assert found in (True, False)
    assert query.matches_overlay(shape, ShapeMemo()) is found
    if not all(math.isfinite(value) for value in box) or box[1] > box[3]:
        assert not found
    assert TrackQuery(bbox=(-180.0, -90.0, 180.0, 90.0)).matches_overlay(shape)


def around(lon: float, lat: float) -> tuple[float, float, float, float]:
    """A small box around a position, across the antimeridian when it is beside it."""
    step = 1e-6

    def wrapped(value: float) -> float:
        return value if -180.0 <= value <= 180.0 else value - math.copysign(360.0, value)

    return wrapped(lon - step), lat - step, wrapped(lon + step), lat + step


@given(any_overlay())
@settings(max_examples=300, deadline=None)
def test_a_box_around_a_position_of_a_shape_finds_it(shape: Overlay) -> None:
    if geometry_problems(shape) or shape.kind in (OverlayKind.CIRCLE, OverlayKind.CORRIDOR):
        return  # too short to draw (stored as its first position), or drawn around them
    for position in shape.coordinates:
        assert TrackQuery(bbox=around(position[0], position[1])).matches_overlay(shape)


def test_lines_that_jump_half_the_globe_cross_the_antimeridian() -> None:
    line = {"type": "LineString", "coordinates": [[179.0, 0.0], [-179.0, 1.0]]}
    ring = [[-1.0, 0.0], [1.0, 0.0], [1.0, 1.0], [-1.0, 0.0]]
    assert crosses_antimeridian(line)
    assert not crosses_antimeridian({"type": "Polygon", "coordinates": [ring]})
    assert not crosses_antimeridian({"type": "Point", "coordinates": [180.0, 0.0]})


def test_a_shape_across_the_antimeridian_is_split_there() -> None:
    line = overlay("l", OverlayKind.LINE, [(179.0, 0.0), (-179.0, 0.0)])
    parts = overlay_shape(line)
    assert sorted(tuple(shapely.bounds(part)) for part in parts) == [
        (-180.0, 0.0, -179.0, 0.0),
        (179.0, 0.0, 180.0, 0.0),
    ]
    assert not TrackQuery(bbox=(-10.0, -1.0, 10.0, 1.0)).matches_overlay(line)


def test_a_memo_draws_each_shape_once() -> None:
    circle = overlay("c", OverlayKind.CIRCLE, [(10.0, 50.0)], radius_m=1_000.0)
    memo = ShapeMemo()
    assert memo.shape(circle) is memo.shape(circle)
    moved = overlay("c", OverlayKind.CIRCLE, [(11.0, 50.0)], radius_m=1_000.0)
    assert memo.shape(moved) != memo.shape(circle)
