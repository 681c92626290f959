"""A unit's parent formation, as its reports name it, is carried by its track."""

from __future__ import annotations

import msgspec

from tessera.codecs.geojson import track_feature
from tests.core.fusion_support import feed, only, tracker, unit_report


def test_a_track_keeps_the_latest_parent_its_reports_named() -> None:
    engine = tracker()
    first = msgspec.structs.replace(unit_report(at=0), parent="bde-12")
    feed(engine, [first])
    assert only(engine).parent == "bde-12"
    # A report that names none leaves the parent as it was; a new one replaces it.
    feed(engine, [unit_report(at=5)])
    assert only(engine).parent == "bde-12"
    feed(engine, [msgspec.structs.replace(unit_report(at=10), parent="bde-7")])
    track = only(engine)
    assert track.parent == "bde-7"
    assert track_feature(track)["properties"]["parent"] == "bde-7"


def test_a_track_without_a_parent_has_none() -> None:
    engine = tracker()
    feed(engine, [unit_report(at=0)])
    assert only(engine).parent is None
