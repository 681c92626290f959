"""A picture as one GeoJSON FeatureCollection: tracks as the API shows them, overlays with
their geometry (circles and corridors as polygons on the sphere)."""

from __future__ import annotations

import itertools
import math
from typing import Any

import msgspec
import pytest

from tessera.codecs.geojson import track_feature
from tessera.codecs.geojson_export import (
    CIRCLE_POINTS,
    EARTH_RADIUS_M,
    bearing,
    circle_ring,
    corridor_ring,
    overlay_geometry,
    picture_feature_collection,
    wound_rings,
)
from tessera.core.overlays import Coordinate, Overlay, OverlayKind
from tests.codecs.test_kml import NATO, T0, picture_overlays, picture_tracks


def collection() -> dict[str, Any]:
    return picture_feature_collection(
        picture_tracks(), picture_overlays(), picture="NATO-SECRET", classification="SECRET"
    )


def distance_m(a: list[float] | tuple[float, ...], b: list[float] | tuple[float, ...]) -> float:
    """Haversine distance on the same sphere the shapes are drawn on."""
    phi1, phi2 = math.radians(a[1]), math.radians(b[1])
    dphi, dlam = phi2 - phi1, math.radians(b[0] - a[0])
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def signed_area(ring: list[list[float]]) -> float:
    """Shoelace area in degrees squared: positive when counterclockwise."""
    pairs = itertools.pairwise(ring)
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in pairs) / 2


def test_the_collection_holds_every_track_then_every_overlay_with_its_picture() -> None:
    result = collection()
    assert result["type"] == "FeatureCollection"
    assert (result["picture"], result["classification"]) == ("NATO-SECRET", "SECRET")
    ids = [feature["id"] for feature in result["features"]]
    assert ids == ["t-1", "t-2", "t-3", "o-area", "o-circle", "o-corridor", "o-line", "o-point"]
    tracks = sorted(picture_tracks(), key=lambda track: track.id)
    assert result["features"][:3] == [track_feature(track) for track in tracks]
    # It is JSON as the API writes it, and the same picture exports the same.
    assert msgspec.json.encode(result) == msgspec.json.encode(
        picture_feature_collection(
            picture_tracks()[::-1], picture_overlays()[::-1], picture="NATO-SECRET",
            classification="SECRET",
        )
    )  # fmt: skip


def test_overlay_properties() -> None:
    features = {feature["id"]: feature for feature in collection()["features"]}
    circle = features["o-circle"]["properties"]
    assert circle["kind"] == "circle" and circle["radius_m"] == 2500.0
    assert circle["width_m"] is None and circle["valid_from"] == T0
    assert (circle["classification"], circle["releasable_to"]) == ("SECRET", ["NATO"])
    assert (circle["author"], circle["name"]) == ("nato-officer", "Exclusion")
    assert features["o-corridor"]["properties"]["width_m"] == 4000.0
    point = features["o-point"]
    assert point["properties"]["sidc"] == "10032500001313000000"
    assert point["geometry"] == {"type": "Point", "coordinates": [18.0, 53.0]}
    line = features["o-line"]["geometry"]
    assert line == {
        "type": "LineString",
        "coordinates": [[18.0, 53.0], [18.1, 53.05, 80.0], [18.2, 53.0]],
    }
    assert features["o-area"]["geometry"]["type"] == "Polygon"


@pytest.mark.parametrize(("lat", "radius"), [(53.2, 2500.0), (-33.9, 50.0), (80.0, 300_000.0)])
def test_a_circle_is_a_closed_counterclockwise_ring_at_its_radius(
    lat: float, radius: float
) -> None:
    ring = circle_ring((18.3, lat), radius)
    assert len(ring) == CIRCLE_POINTS + 1 and ring[0] == ring[-1]
    for point in ring:
        assert distance_m(point, (18.3, lat)) == pytest.approx(radius, rel=1e-6, abs=0.01)
    assert signed_area([list(point) for point in ring]) > 0


def test_a_corridor_keeps_half_its_width_from_its_centre_line() -> None:
    line = ((17.0, 52.0), (17.5, 52.2), (18.0, 52.1))
    ring = corridor_ring(line, 4000.0)
    assert ring[0] == ring[-1] and len(ring) == 2 * len(line) + 1
    # The ends sit square to the line, at exactly half the width.
    for end in (ring[0], ring[len(line) - 1], ring[len(line)], ring[-2]):
        nearest = min(distance_m(end, point) for point in line)
        assert nearest == pytest.approx(2000.0, rel=1e-6)
    assert signed_area([list(point) for point in ring]) > 0
    start_heading = bearing(*line[0], *line[1])
    assert bearing(*line[0], *ring[0]) == pytest.approx((start_heading + 90) % 360, abs=1e-6)


def test_degenerate_shapes_still_export() -> None:
    def overlay(kind: OverlayKind, *points: Coordinate, width_m: float | None = None) -> Overlay:
        return Overlay(id="o", name="x", kind=kind, coordinates=points, label=NATO, width_m=width_m)

    dot = overlay(OverlayKind.CORRIDOR, (1.0, 2.0), (1.0, 2.0), width_m=100.0)
    assert overlay_geometry(dot)["type"] == "Polygon"  # a corridor of one point: a disc
    open_area = overlay(OverlayKind.AREA, (0.0, 0.0), (1.0, 0.0), (1.0, 1.0))
    ring = overlay_geometry(open_area)["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 4
    assert overlay_geometry(overlay(OverlayKind.CIRCLE, (5.0, 6.0))) == {
        "type": "Point",
        "coordinates": [5.0, 6.0],
    }


CLOCKWISE_SQUARE = ((18.0, 53.0), (18.0, 53.1), (18.1, 53.1), (18.1, 53.0), (18.0, 53.0))


def area(*points: Coordinate) -> Overlay:
    return Overlay(id="a", name="A", kind=OverlayKind.AREA, coordinates=points, label=NATO)


@pytest.mark.parametrize(
    "points",
    [CLOCKWISE_SQUARE, CLOCKWISE_SQUARE[::-1], CLOCKWISE_SQUARE[:-1], CLOCKWISE_SQUARE[-2::-1]],
)
def test_an_area_is_wound_counterclockwise_whichever_way_it_was_drawn(
    points: tuple[Coordinate, ...],
) -> None:
    (ring,) = overlay_geometry(area(*points))["coordinates"]
    assert signed_area(ring) > 0
    assert ring[0] == ring[-1]
    # The same corners, only their order may have turned.
    assert sorted(map(tuple, ring[:-1])) == sorted(set(CLOCKWISE_SQUARE))


def test_every_polygon_of_an_export_has_its_exterior_counterclockwise() -> None:
    overlays = [*picture_overlays(), area(*CLOCKWISE_SQUARE)]
    collection = picture_feature_collection([], overlays, picture="P", classification="SECRET")
    polygons = [
        feature["geometry"]["coordinates"]
        for feature in collection["features"]
        if feature["geometry"]["type"] == "Polygon"
    ]
    assert len(polygons) == 4
    assert all(signed_area(rings[0]) > 0 for rings in polygons)


def test_holes_are_wound_clockwise_inside_a_counterclockwise_exterior() -> None:
    exterior = [list(point) for point in CLOCKWISE_SQUARE]
    hole = [[18.02, 53.02], [18.08, 53.02], [18.08, 53.08], [18.02, 53.08], [18.02, 53.02]]
    outer, inner = wound_rings([exterior, hole])
    assert signed_area(outer) > 0 and signed_area(inner) < 0
    assert inner == hole[::-1] and outer == exterior[::-1]
    # A ring with no area has no orientation: kept as given.
    flat = [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [0.0, 0.0]]
    assert wound_rings([flat]) == [flat]
