"""STAC items to imagery footprints (pure): the facts taken, what cannot be a footprint
refused with a reason, untrusted text and links cleaned; Hypothesis throws arbitrary
items at it."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.codecs.stac import (
    ItemFilter,
    StacItemError,
    bbox_geometry,
    imagery_overlay,
    item_footprint,
)
from tessera.core.model import Label
from tessera.core.overlays import MAX_VERTICES, Overlay, OverlayKind, geometry_problems

RING = [[18.0, 53.0], [18.2, 53.0], [18.2, 53.2], [18.0, 53.2], [18.0, 53.0]]


def stac_item(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "S2A_34UCE_20260504",
        "collection": "sentinel-2-l2a",
        "geometry": {"type": "Polygon", "coordinates": [RING]},
        "bbox": [18.0, 53.0, 18.2, 53.2],
        "properties": {
            "datetime": "2026-05-04T09:30:12.5+02:00",
            "platform": "sentinel-2a",
            "constellation": "sentinel-2",
            "instruments": ["msi"],
            "eo:cloud_cover": 7.25,
            "gsd": 10,
        },
        "links": [
            {"rel": "self", "href": "https://stac.example.org/collections/s2/items/S2A"},
            {"rel": "preview", "href": "https://stac.example.org/preview.png"},
        ],
        "assets": {
            "visual": {"href": "https://data.example.org/visual.tif", "roles": ["visual"]},
            "B04": {"href": "s3://bucket/B04.tif", "type": "image/tiff", "title": "Red"},
            "local": {"href": "./local.tif"},
            "script": {"href": "javascript:alert(1)"},
        },
    }
    item.update(changes)
    return item


def test_the_facts_of_an_item() -> None:
    found = item_footprint(stac_item(), source="copernicus", grading="B2")
    facts = found.imagery
    assert found.ring == tuple(tuple(point) for point in RING)
    assert (facts.source, facts.item, facts.collection) == (
        "copernicus",
        "S2A_34UCE_20260504",
        "sentinel-2-l2a",
    )
    assert (facts.platform, facts.constellation, facts.instruments) == (
        "sentinel-2a",
        "sentinel-2",
        ("msi",),
    )
    assert facts.acquired_at == datetime(2026, 5, 4, 7, 30, 12, 500_000, tzinfo=UTC)
    assert facts.acquired_until is None
    assert (facts.cloud_cover, facts.gsd_m, facts.grading) == (7.25, 10.0, "B2")
    # No thumbnail asset: the preview link.
    assert facts.thumbnail == "https://stac.example.org/preview.png"
    assert facts.item_url == "https://stac.example.org/collections/s2/items/S2A"
    # Relative and script links are dropped; s3 is kept.
    assert [(a.key, a.href) for a in facts.assets] == [
        ("visual", "https://data.example.org/visual.tif"),
        ("B04", "s3://bucket/B04.tif"),
    ]
    overlay = imagery_overlay(found, overlay_id="ov-1", label=Label("RESTRICTED"), author="bot")
    assert overlay.kind is OverlayKind.AREA and overlay.imagery == facts
    assert overlay.name == "sentinel-2a 2026-05-04 07:30Z"
    assert overlay.valid_from == facts.acquired_at
    assert "cloud cover 7.25%" in overlay.remarks and "GSD 10 m" in overlay.remarks
    assert geometry_problems(overlay) == []


def test_an_interval_a_multipolygon_and_no_geometry() -> None:
    properties = {
        "datetime": None,
        "start_datetime": "2026-05-04T09:00:00Z",
        "end_datetime": "2026-05-04T09:10:00Z",
    }
    small = [[0.0, 0.0], [0.1, 0.0], [0.1, 0.1], [0.0, 0.0]]
    large = [[10.0, 10.0], [11.0, 10.0], [11.0, 11.0], [10.0, 11.0], [10.0, 10.0]]
    multi = {"type": "MultiPolygon", "coordinates": [[small], [large]]}
    found = item_footprint(
        stac_item(properties=properties, geometry=multi), source="s", grading="C3"
    )
    assert found.imagery.acquired_until == datetime(2026, 5, 4, 9, 10, tzinfo=UTC)
    assert found.ring == tuple(tuple(point) for point in large)
    from_bbox = item_footprint(
        stac_item(geometry=None, bbox=[1.0, 2.0, -5.0, 3.0, 4.0, 9.0]), source="s", grading="C3"
    )
    assert from_bbox.ring == ((1.0, 2.0), (3.0, 2.0), (3.0, 4.0), (1.0, 4.0), (1.0, 2.0))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"type": "Collection"}, "not a STAC item"),
        ({"id": ""}, "no id"),
        ({"properties": {"platform": "x"}}, "neither datetime nor start_datetime"),
        ({"properties": {"datetime": "yesterday"}}, "not an RFC 3339 date-time"),
        ({"properties": {"datetime": "2026-05-04T09:30:00"}}, "has no time zone"),
        ({"geometry": {"type": "Point", "coordinates": [1, 2]}}, "not a polygon"),
        ({"geometry": {"type": "Polygon"}}, "not GeoJSON"),
        ({"geometry": None, "bbox": None}, "neither geometry nor bbox"),
        (
            {"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [0, 1], [0, 0]]]}},
            "off the globe",
        ),
    ],
)
def test_what_cannot_be_a_footprint_says_why(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(StacItemError, match=reason):
        item_footprint(stac_item(**changes), source="s", grading="C3")


def test_a_long_platform_still_makes_a_valid_name() -> None:
    properties = {"datetime": "2026-05-04T09:30:00Z", "platform": "p" * 400}
    found = item_footprint(stac_item(properties=properties), source="s", grading="C3")
    overlay = imagery_overlay(found, overlay_id="ov-1", label=Label("RESTRICTED"), author="bot")
    assert len(overlay.name) <= 256 and overlay.name.endswith("2026-05-04 09:30Z")
    assert msgspec.json.decode(msgspec.json.encode(overlay), type=Overlay) == overlay


def test_texts_are_cleaned_and_numbers_bounded() -> None:
    properties = {
        "datetime": "2026-05-04T09:30:00Z",
        "platform": "sentinel\x1b[31m-2a" + "x" * 500,
        "eo:cloud_cover": 140,
        "gsd": -1,
        "instruments": ["msi", 7, ""],
    }
    facts = item_footprint(stac_item(properties=properties), source="s", grading="C3").imagery
    assert facts.platform is not None and "\x1b" not in facts.platform
    assert len(facts.platform) == 256
    assert (facts.cloud_cover, facts.gsd_m, facts.instruments) == (None, None, ("msi",))


def test_a_footprint_with_too_many_vertices_is_simplified() -> None:
    count = MAX_VERTICES * 2
    ring = [
        [
            18.0 + 0.1 * math.cos(2 * math.pi * i / count),
            53.0 + 0.1 * math.sin(2 * math.pi * i / count),
        ]
        for i in range(count)
    ]
    geometry = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
    found = item_footprint(stac_item(geometry=geometry), source="s", grading="C3")
    assert 4 <= len(found.ring) <= MAX_VERTICES and found.ring[0] == found.ring[-1]


def test_the_filter_of_a_static_catalogue() -> None:
    found = item_footprint(stac_item(), source="s", grading="C3")
    inside = (bbox_geometry((18.1, 53.1, 19.0, 54.0)),)
    outside = (bbox_geometry((20.0, 53.0, 21.0, 54.0)),)
    may = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 31, tzinfo=UTC)
    assert ItemFilter(areas=inside).matches(found)
    assert not ItemFilter(areas=outside).matches(found)
    assert ItemFilter(areas=(*outside, *inside), start=may[0], end=may[1]).matches(found)
    assert not ItemFilter(start=datetime(2026, 6, 1, tzinfo=UTC)).matches(found)
    assert not ItemFilter(end=datetime(2026, 5, 4, tzinfo=UTC)).matches(found)
    assert ItemFilter(collections=("sentinel-2-l2a",)).matches(found)
    assert not ItemFilter(collections=("landsat",)).matches(found)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
items = st.fixed_dictionaries(
    {"type": st.sampled_from(["Feature", "Collection"]) | json_values},
    optional={
        "id": json_values,
        "collection": json_values,
        "geometry": json_values
        | st.just({"type": "Polygon", "coordinates": [RING]})
        | st.builds(
            lambda ring: {"type": "Polygon", "coordinates": [ring]},
            st.lists(st.tuples(st.floats(), st.floats()).map(list), max_size=6),
        ),
        "bbox": json_values | st.lists(st.floats(), min_size=4, max_size=4),
        "properties": json_values
        | st.fixed_dictionaries(
            {
                "datetime": st.sampled_from(["2026-05-04T09:30:00Z", "2026-13-01T00:00:00Z"])
                | json_values
            },
            optional={
                "platform": json_values,
                "eo:cloud_cover": json_values,
                "gsd": json_values,
                "instruments": json_values,
            },
        ),
        "links": json_values,
        "assets": json_values,
    },
)


@settings(max_examples=400, deadline=None)
@given(items)
def test_any_item_is_a_valid_footprint_or_a_reason(item: dict[str, Any]) -> None:
    reason: str | None
    try:
        found = item_footprint(item, source="s", grading="C3")
    except StacItemError as exc:
        reason = str(exc)
    else:
        reason = None
    if reason is not None:
        assert reason.strip(), "a refusal says why"
        return
    overlay = imagery_overlay(found, overlay_id="ov-1", label=Label("RESTRICTED"), author="bot")
    assert geometry_problems(overlay) == []
    # As the journal and the stores read it back: every field within its limits.
    assert msgspec.json.decode(msgspec.json.encode(overlay), type=Overlay) == overlay
    facts = found.imagery
    for href in [facts.thumbnail, facts.item_url, *(a.href for a in facts.assets)]:
        assert href is None or href.split(":", 1)[0].lower() in {"http", "https", "s3", "gs"}
    assert facts.cloud_cover is None or 0 <= facts.cloud_cover <= 100
    assert facts.gsd_m is None or facts.gsd_m > 0
