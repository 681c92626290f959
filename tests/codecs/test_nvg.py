"""NVG in and out: the shared samples, a round trip, and hostile input. Every export is
validated against the NVG 2.0.2 schema."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.codecs.nvg_read import NvgError, NvgImport, read_nvg
from tessera.codecs.nvg_write import write_nvg
from tessera.core.model import (
    Grading,
    Identity,
    Label,
    Position,
    Source,
    SourceKind,
    Track,
    TrackStatus,
    Velocity,
)
from tessera.core.overlays import Overlay, OverlayKind
from tessera.core.track_names import track_name
from tests.codecs.nvg_samples import nvg_sample, nvg_sample_names
from tests.codecs.nvg_schema import assert_valid_nvg

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LABEL = Label(classification="UNCLASSIFIED", releasable_to=("NATO",))

# (reports, overlays by kind, skipped elements), counted by hand from each file.
EXPECTED = {
    "nvg-0.3-demo-link16__nvgviewer.nvg": (8, {}, []),
    "nvg-2.0.0-sample__spatialillusions-nvg.xml": (
        0,
        {"line": 2, "corridor": 5, "circle": 1, "area": 1},
        ["arrow", "exclude"],  # the arrow's width; the circle's excluded area
    ),
    "nvg-2.0.2-arcs__nvg-parser.nvg": (0, {"line": 3}, []),
    "nvg-2.0.2-circles__nvg-parser.nvg": (0, {"circle": 4}, []),
    "nvg-2.0.2-points__nvg-parser.nvg": (0, {"point": 5}, []),
    "nvg-2.0.2-text__nvg-parser.nvg": (0, {"point": 1}, ["text"]),  # its rotation
}


def read(data: bytes) -> NvgImport:
    counter = itertools.count()
    return read_nvg(data, label=LABEL, author="alice", now=NOW, new_id=lambda: f"r{next(counter)}")


@pytest.mark.parametrize("name", nvg_sample_names())
def test_every_sample_imports_with_the_counts_its_content_implies(name: str) -> None:
    result = read(nvg_sample(name))
    reports, kinds, skipped = EXPECTED[name]
    assert len(result.reports) == reports
    found: dict[str, int] = {}
    for overlay in result.overlays:
        found[overlay.kind.value] = found.get(overlay.kind.value, 0) + 1
    assert found == kinds
    assert [item.element for item in result.skipped] == skipped
    assert all(item.line for item in result.skipped)


def test_legacy_points_keep_symbol_identity_and_speed_in_metres_per_second() -> None:
    result = read(nvg_sample("nvg-0.3-demo-link16__nvgviewer.nvg"))
    first = result.reports[0]
    assert first.subject == "nvg:Link16-F101"
    assert first.source.kind is SourceKind.SYSTEM
    assert (first.position.lon, first.position.lat) == (-5.25, 55.75)
    assert first.identity is Identity.FRIEND and first.sidc is not None
    assert first.velocity is not None and first.velocity.speed == pytest.approx(450 * 0.514444)
    assert first.name == "Link16:F101 - Fighter Aircraft"
    assert first.remarks == "link: http://link16.demo.mil/tracks?id=F101"
    assert first.observed_at == NOW
    # SIGPEWRS: "I" is no 2525 affiliation, so the symbol is kept in the remarks only.
    radar = result.reports[6]
    assert radar.sidc is None and "not converted" in radar.remarks
    assert not result.skipped


def test_text_and_circle_details() -> None:
    text = read(nvg_sample("nvg-2.0.2-text__nvg-parser.nvg")).overlays[0]
    assert text.name == "TEXT" and text.id == "nvg:urn:int:000040"
    circle = read(nvg_sample("nvg-2.0.2-circles__nvg-parser.nvg")).overlays[0]
    assert circle.coordinates == ((65.042489, 32.237457),)
    assert circle.radius_m == pytest.approx(80454.964049)


def make_track(index: int, lon: float, lat: float, grading: str) -> Track:
    return Track(
        id=f"trk-{index}",
        position=Position(lat=lat, lon=lon, alt=120.5),
        velocity=Velocity(course=90.0, speed=12.0),
        identity=Identity.HOSTILE,
        identity_confidence=0.9,
        sidc="10061000001211000000",
        status=TrackStatus.CONFIRMED,
        first_at=NOW - timedelta(hours=1),
        updated_at=NOW - timedelta(minutes=index),
        subject=f"unit;{index}",
        quantity=index,
        grading=Grading.parse(grading),
        label=LABEL,
        sources=(Source(id="drone-1", kind=SourceKind.UAV),),
        lineage=(),
        report_count=3,
    )


def make_overlays() -> list[Overlay]:
    return [
        Overlay(
            id="ov-1", name="OP", kind=OverlayKind.POINT, coordinates=((1.1, 2.2),), label=LABEL
        ),
        Overlay(
            id="ov-2",
            name="Route",
            kind=OverlayKind.LINE,
            coordinates=((1.0, 2.0), (1.123456789, 2.987654321)),
            remarks="go north",
            label=LABEL,
        ),
        Overlay(
            id="ov-3",
            name="AO",
            kind=OverlayKind.AREA,
            coordinates=((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)),
            sidc="10062500001101000000",
            label=LABEL,
        ),
        Overlay(
            id="ov-4",
            name="Zone",
            kind=OverlayKind.CIRCLE,
            coordinates=((-3.5, 40.25),),
            radius_m=2500.0,
            label=LABEL,
        ),
        Overlay(
            id="ov-5",
            name="Lane",
            kind=OverlayKind.CORRIDOR,
            coordinates=((5.0, 5.0), (6.0, 6.5)),
            width_m=800.0,
            label=LABEL,
        ),
    ]


def test_a_held_track_is_written_with_a_time_span_its_reimport_holds_until_the_end() -> None:
    held = msgspec.structs.replace(
        make_track(1, 18.0, 53.0, "B2"),
        status=TrackStatus.DEAD,
        valid_until=NOW + timedelta(hours=6),
    )
    free = make_track(2, 18.5, 53.5, "B2")
    data = write_nvg([held, free], [], picture="main", classification="SECRET", now=NOW)
    assert_valid_nvg(data)
    result = read(data)
    assert result.skipped == []
    back = {report.subject: report for report in result.reports}
    report = back[f"nvg:{held.id}"]
    assert (report.observed_at, report.valid_until) == (held.updated_at, held.valid_until)
    assert report.status is TrackStatus.DEAD
    # A track that is not held says nothing of how long: the importer's default applies.
    assert back[f"nvg:{free.id}"].valid_until is None


def test_round_trip_keeps_positions_symbols_and_gradings() -> None:
    tracks = [make_track(1, 12.345678912, 55.1, "B2"), make_track(2, -179.9, -89.5, "A1")]
    overlays = make_overlays()
    data = write_nvg(tracks, overlays, picture="main", classification="NATO SECRET", now=NOW)
    assert_valid_nvg(data)
    assert b'version="2.0.2"' in data and b'classification="NATO SECRET"' in data
    result = read(data)
    assert result.skipped == []
    assert len(result.reports) == len(tracks)
    for track, report in zip(tracks, result.reports, strict=True):
        assert report.name == track_name(track)
        assert report.subject == f"nvg:{track.id}"
        assert report.status is track.status
        assert report.position.lon == pytest.approx(track.position.lon, abs=1e-7)
        assert report.position.lat == pytest.approx(track.position.lat, abs=1e-7)
        assert report.position.alt == track.position.alt
        assert (report.sidc, report.identity) == (track.sidc, track.identity)
        assert report.grading == track.grading and report.quantity == track.quantity
        assert report.observed_at == track.updated_at
        assert report.velocity is not None
        assert report.velocity.speed == pytest.approx(12.0)
    assert len(result.overlays) == len(overlays)
    for before, after in zip(overlays, result.overlays, strict=True):
        assert (after.kind, after.name, after.sidc) == (before.kind, before.name, before.sidc)
        assert after.radius_m == before.radius_m and after.width_m == before.width_m
        for a, b in zip(before.coordinates, after.coordinates, strict=True):
            assert a == pytest.approx(b, abs=1e-7)
    assert result.overlays[1].remarks == "go north"


def test_malformed_values_name_the_element_and_line() -> None:
    ns = 'xmlns="https://tide.act.nato.int/schemas/2012/10/nvg"'
    bad = f'<nvg {ns}>\n<point x="1" y="95" symbol="app6d:10061000001211000000"/></nvg>'
    with pytest.raises(NvgError, match="<point> at line 2"):
        read(bad.encode())
    grading = f'<nvg {ns}><point x="1" y="2" symbol="app6d:1" modifiers="J:Z9"/></nvg>'
    with pytest.raises(NvgError, match="modifier J"):
        read(grading.encode())
    with pytest.raises(NvgError, match="not an NVG"):
        read(b"<kml/>")


def test_foreign_and_unknown_elements_are_listed_as_skipped() -> None:
    data = b'<nvg><x:thing xmlns:x="urn:x"/><schema/><point x="1" y="2"/></nvg>'
    result = read(data)
    assert [(s.element, s.line) for s in result.skipped] == [("thing", 1), ("schema", 1)]
    assert len(result.overlays) == 1


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE nvg [\n<!ENTITY a "{text}">\n'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">\n]>\n'
    '<nvg><point x="1" y="2" label="&c;"/></nvg>'
)
EXTERNAL = (
    '<?xml version="1.0"?>\n<!DOCTYPE nvg [<!ENTITY x SYSTEM "{url}">]>\n'
    '<nvg><text x="1" y="2"><content>&x;</content></text></nvg>'
)


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_garbage_raises_nvg_error_only(data: bytes) -> None:
    with pytest.raises(NvgError):
        read(data)


@given(st.sampled_from(sorted(EXPECTED)), st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_truncated_samples_raise_nvg_error_only(name: str, data: st.DataObject) -> None:
    sample = nvg_sample(name)
    cut = data.draw(st.integers(0, sample.rindex(b"</")))
    with pytest.raises(NvgError):
        read(sample[:cut])


@given(st.text(alphabet="lol", min_size=1, max_size=20))
@settings(max_examples=30, deadline=None)
def test_entity_expansion_is_refused(text: str) -> None:
    with pytest.raises(NvgError, match="DOCTYPE"):
        read(BILLION_LAUGHS.format(text=text).encode())


@given(st.sampled_from(["file:///etc/passwd", "http://127.0.0.1:9/x", "/etc/hostname"]))
@settings(max_examples=10, deadline=None)
def test_external_entities_are_refused(url: str) -> None:
    with pytest.raises(NvgError, match="DOCTYPE"):
        read(EXTERNAL.format(url=url).encode())


def test_letter_coded_graphics_become_overlays_with_their_app6d_symbol() -> None:
    ns = 'xmlns="http://tide.act.nato.int/schemas/2009/10/nvg"'
    data = (
        f'<nvg {ns} version="1.5">'
        '<polyline symbol="app6b:GFGPGLB----****" points="18,53 18.1,53.1" label="Boundary"/>'
        '<polygon symbol="app6b:G*G*GAA---****X" points="18,53 18.1,53 18.1,53.1"/>'
        "</nvg>"
    ).encode()
    result = read(data)
    boundary, area = result.overlays
    assert (boundary.kind, boundary.sidc) == (OverlayKind.LINE, "10032500001101000000")
    assert boundary.remarks == ""
    assert area.sidc == "10012500001502000000"
    # Converted, but not exactly: the overlay says what was dropped.
    assert "no affiliation" in area.remarks


def test_a_points_timespan_end_is_how_long_its_report_holds() -> None:
    ns = 'xmlns="https://tide.act.nato.int/schemas/2012/10/nvg"'
    unit = 'symbol="app6d:10061000001211000000"'

    def point(uri: str, span: str) -> str:
        return f'<point uri="{uri}" x="18" y="53" {unit}>{span}</point>'

    data = (
        f"<nvg {ns}>"
        + point(
            "held",
            "<TimeSpan><begin>2025-06-01T06:00:00Z</begin>"
            "<end>2025-06-02T06:00:00+02:00</end></TimeSpan>",
        )
        + point("open", "<TimeSpan><begin>2025-06-01T06:00:00Z</begin></TimeSpan>")
        + point("far", "<TimeSpan><end>2030-01-01T00:00:00Z</end></TimeSpan>")
        + point("over", "<TimeSpan><end>2025-06-01T11:00:00Z</end></TimeSpan>")
        + "</nvg>"
    )
    result = read(data.encode())
    held, open_, far = result.reports
    assert held.valid_until == datetime(2025, 6, 2, 4, 0, tzinfo=UTC)
    assert open_.valid_until is None
    assert far.valid_until == NOW + timedelta(days=7), "cut to the longest hold"
    assert [(item.element, item.reason) for item in result.skipped] == [
        ("point", "its validity (TimeSpan end) ended before its time")
    ]
    with pytest.raises(NvgError, match="<point> at line 1: TimeSpan end 'soon'"):
        read(f"<nvg {ns}>{point('x', '<TimeSpan><end>soon</end></TimeSpan>')}</nvg>".encode())
