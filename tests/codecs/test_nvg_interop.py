"""NVG as other systems read and write it: the 2.0.2 schema, each version's speed unit,
counter-clockwise rotations, and nothing of an imported file dropped without a word."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

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
from tessera.core.symbols import with_identity
from tessera.core.track_names import track_name
from tests.codecs.nvg_samples import nvg_sample
from tests.codecs.nvg_schema import assert_valid_nvg

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LABEL = Label(classification="UNCLASSIFIED", releasable_to=("NATO",))
NVG_2_0 = "https://tide.act.nato.int/schemas/2012/10/nvg"
KNOT = 1852.0 / 3600.0
KMH = 1000.0 / 3600.0
EARTH_RADIUS_M = 6_371_008.8


def read(data: bytes) -> NvgImport:
    counter = itertools.count()
    return read_nvg(data, label=LABEL, author="alice", now=NOW, new_id=lambda: f"r{next(counter)}")


def metres(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Haversine distance between two lon, lat pairs."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2
    h += math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(h, 1.0)))


def bearing(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return math.degrees(math.atan2(y, x)) % 360.0


def track(**changes: object) -> Track:
    values: dict[str, object] = {
        "id": "trk-1",
        "position": Position(lat=53.0, lon=18.0),
        "velocity": Velocity(course=45.0, speed=10.0),
        "identity": Identity.HOSTILE,
        "identity_confidence": 0.9,
        "sidc": "10061000001211000000",
        "status": TrackStatus.COASTING,
        "first_at": NOW - timedelta(hours=1),
        "updated_at": NOW - timedelta(minutes=3),
        "subject": None,
        "quantity": None,
        "grading": Grading.parse("B2"),
        "label": LABEL,
        "sources": (Source(id="drone-1", kind=SourceKind.UAV),),
        "lineage": (),
        "report_count": 3,
    }
    values.update(changes)
    return Track(**values)  # type: ignore[arg-type]


def export(tracks: list[Track], overlays: list[Overlay] | None = None) -> bytes:
    data = write_nvg(tracks, overlays or [], picture="COP", classification="NATO SECRET", now=NOW)
    assert_valid_nvg(data)
    return data


# --- the schema ---------------------------------------------------------------------


def test_an_export_declares_the_schema_of_its_extended_data_and_dates_each_track() -> None:
    root = etree.fromstring(export([track()]))
    declared = {schema.get("schemaId") for schema in root.iter(f"{{{NVG_2_0}}}Schema")}
    for data in root.iter(f"{{{NVG_2_0}}}ExtendedData"):
        assert (data.get("schemaRef") or "").removeprefix("#") in declared
    [point] = root.iter(f"{{{NVG_2_0}}}point")
    fields = {item.get("key"): item.text for item in point.iter(f"{{{NVG_2_0}}}SimpleData")}
    assert fields["status"] == "coasting"
    assert point.findtext(f"{{{NVG_2_0}}}TimeStamp") == "2025-06-01T11:57:00Z"


def test_the_schema_refuses_what_the_export_used_to_write() -> None:
    # ExtendedData without schemaRef, as exports were before.
    old = (
        f'<nvg xmlns="{NVG_2_0}" version="2.0.2"><point uri="t" x="1" y="2">'
        '<ExtendedData><SimpleData key="observed_at">x</SimpleData></ExtendedData>'
        "</point></nvg>"
    ).encode()
    with pytest.raises(AssertionError, match="schemaRef"):
        assert_valid_nvg(old)


def test_tiny_coordinates_are_written_without_an_exponent() -> None:
    point = Overlay(
        id="p", name="P", kind=OverlayKind.POINT, coordinates=((1e-7, -1e-9),), label=LABEL
    )
    line = Overlay(
        id="l",
        name="L",
        kind=OverlayKind.LINE,
        coordinates=((1e-5, 2.0), (3.0, -4e-6)),
        label=LABEL,
    )
    data = export([], [point, line])
    assert b'points="0.00001,2 3,-0.000004"' in data


# --- units ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("root", "unit"),
    [
        ('<nvg version="0.3">', KNOT),
        ('<nvg xmlns="http://tide.act.nato.int/schemas/2008/10/nvg" version="1.4.0">', KNOT),
        ('<nvg xmlns="http://tide.act.nato.int/schemas/2009/10/nvg" version="1.5.0">', KNOT),
        (f'<nvg xmlns="{NVG_2_0}" version="2.0.2">', KMH),
        ('<nvg version="2.0.2">', KMH),  # 2.0 without its namespace
    ],
)
def test_speeds_are_read_in_the_unit_of_each_version(root: str, unit: float) -> None:
    point = '<point x="18" y="53" course="90" speed="100" symbol="app6d:10061000001211000000"/>'
    [report] = read(f"{root}{point}</nvg>".encode()).reports
    assert report.velocity is not None
    assert report.velocity.speed == pytest.approx(100 * unit, rel=1e-9)


def test_speeds_are_written_in_kilometres_per_hour() -> None:
    root = etree.fromstring(export([track(velocity=Velocity(course=45.0, speed=10.0))]))
    [point] = root.iter(f"{{{NVG_2_0}}}point")
    assert float(point.get("speed") or "nan") == pytest.approx(36.0)


# --- rotations ----------------------------------------------------------------------------


def shape(element: str) -> list[tuple[float, ...]]:
    [overlay] = read(f'<nvg xmlns="{NVG_2_0}" version="2.0.2">{element}</nvg>'.encode()).overlays
    return list(overlay.coordinates)


@pytest.mark.parametrize(
    "element",
    [
        '<ellipse uri="e" cx="0" cy="0" rx="10000" ry="1000" rotation="45"/>',
        '<rect uri="r" cx="0" cy="0" rx="10000" ry="1" rotation="45"/>',
        '<arc uri="a" cx="0" cy="0" rx="10000" ry="1000" rotation="45"'
        ' startangle="80" endangle="100"/>',
    ],
)
def test_rotations_turn_counter_clockwise(element: str) -> None:
    # The long east-west axis, turned 45 degrees counter-clockwise, points north-east.
    vertices = shape(element)
    farthest = max(vertices, key=lambda v: metres((0.0, 0.0), v))
    assert min(abs(bearing((0.0, 0.0), farthest) - b) for b in (45.0, 225.0)) < 6.0


def test_a_rect_is_its_half_sides_either_way_of_the_centre() -> None:
    ring = shape('<rect uri="r" cx="10" cy="50" rx="2000" ry="500"/>')
    assert {round(metres((10.0, 50.0), v)) for v in ring} == {round(math.hypot(2000, 500))}


def test_an_imported_arc_starts_where_the_schema_puts_it() -> None:
    """The first arc of the nvg-parser sample, its start computed on a local plane: the
    point of the ellipse at bearing 45 before rotation, turned counter-clockwise."""
    [arc, *_] = read(nvg_sample("nvg-2.0.2-arcs__nvg-parser.nvg")).overlays
    cx, cy, rx, ry, rotation = 64.899838, 32.868797, 56534.049489, 122376.796997, 305.264549
    east, north = rx * math.sin(math.radians(45)), ry * math.cos(math.radians(45))
    turn = math.radians(rotation)
    east, north = (
        east * math.cos(turn) - north * math.sin(turn),
        east * math.sin(turn) + north * math.cos(turn),
    )
    metres_per_degree = math.pi * EARTH_RADIUS_M / 180
    expected = (
        cx + east / (metres_per_degree * math.cos(math.radians(cy))),
        cy + north / metres_per_degree,
    )
    assert metres(arc.coordinates[0], expected) < 2000.0


# --- what an import keeps ---------------------------------------------------------------

KEEPS = f"""<nvg xmlns="{NVG_2_0}" version="2.0.2">
<a href="https://c2.example/units/7">
<point uri="urn:guid:1" label="2 COY" x="18" y="53" course="90" speed="36"
  symbol="app6d:10061000001211000000" modifiers="T:2 COY;C:120;J:B2;W:201200Z"/>
</a>
<point uri="urn:guid:2" label="OP" x="18.1" y="53.1" course="180" speed="72"
  href="https://c2.example/op" style="stroke:#FF0000;fill-opacity:0.7"/>
<polygon uri="urn:guid:3" label="AO" points="18,53 18.1,53 18.1,53.1" modifiers="T:AO RED"
  style="fill:#00FF00"><TimeSpan><begin>2025-06-01T00:00:00Z</begin>
  <end>2025-06-02T00:00:00Z</end></TimeSpan></polygon>
</nvg>"""


def test_labels_links_modifiers_styles_and_motion_are_kept() -> None:
    result = read(KEEPS.encode())
    assert result.skipped == []
    [unit] = result.reports
    assert (unit.name, unit.quantity, unit.grading) == ("2 COY", 120, Grading.parse("B2"))
    assert unit.remarks == "modifier W: 201200Z; link: https://c2.example/units/7"
    assert unit.velocity is not None
    assert unit.velocity.course == 90.0
    assert abs(unit.velocity.speed - 10.0) < 1e-9
    point, area = result.overlays
    assert point.style == "stroke:#FF0000;fill-opacity:0.7"
    assert point.remarks == "course 180, speed 20.00 m/s; link: https://c2.example/op"
    assert (area.style, area.remarks) == ("fill:#00FF00", "modifier T: AO RED")
    assert (area.valid_from, area.valid_to) == (
        NOW - timedelta(hours=12),
        NOW + timedelta(hours=12),
    )


LEFTOVERS = f"""<nvg xmlns="{NVG_2_0}" xmlns:x="urn:x" version="2.0.2">
<point uri="u1" x="18" y="53" symbol="app6d:10061000001211000000" course="90"
  style="stroke:red" x:colour="red" rotation="30">
  <ExtendedData schemaRef="#s"><SimpleData key="status">lost</SimpleData>
  <SimpleData key="callsign">A1</SimpleData></ExtendedData>
  <TimeSpan><end>2025-06-02T00:00:00Z</end></TimeSpan>
</point>
<polygon uri="a1" points="18,53,10 18.1,53,10 18.1,53.1,10" maxaltitude="3000"
  leg-type="great-circle"/>
<polyline uri="l1" points="18,53 18.1,53.1" leg-type="rhumb-line"><TimeStamp/></polyline>
</nvg>"""


def test_what_cannot_be_kept_is_listed_with_its_line_and_reason() -> None:
    result = read(LEFTOVERS.encode())
    assert len(result.reports) == 1 and len(result.overlays) == 2
    assert all(report.status is None for report in result.reports)
    found = {(item.element, item.line, item.reason) for item in result.skipped}
    assert found == {
        ("point", 3, "attribute 'colour' not imported"),
        ("point", 3, "attribute 'rotation' not imported"),
        ("ExtendedData", 4, "field 'callsign' not imported"),
        ("point", 3, "the style of a unit symbol is not kept"),
        ("point", 3, "course or speed without the other not imported"),
        ("point", 3, "track status 'lost' unknown, not imported"),
        ("polygon", 9, "attribute 'maxaltitude' not imported"),
        ("polygon", 9, "altitudes in 'points' not imported"),
        ("polyline", 10, "attribute 'leg-type' not imported"),
        ("TimeStamp", 10, "<TimeStamp> of a polyline not imported"),
    }


# --- round trips ------------------------------------------------------------------------

NAMES = st.text(
    alphabet=st.sampled_from("ABCXYZabcxyz0189 -.:/()"), min_size=1, max_size=40
).filter(lambda text: text.strip() == text and text != "")


@st.composite
def tracks(draw: st.DrawFn) -> list[Track]:
    count = draw(st.integers(1, 5))
    found = []
    for index in range(count):
        identity = draw(st.sampled_from(list(Identity)))
        moving = draw(st.booleans())
        found.append(
            track(
                id=f"trk-{index}-{draw(st.integers(0, 0xFFFF)):04x}",
                position=Position(
                    lat=draw(st.floats(-90.0, 90.0)),
                    lon=draw(st.floats(-180.0, 180.0)),
                    alt=draw(st.none() | st.floats(-500.0, 20_000.0)),
                ),
                velocity=Velocity(
                    course=draw(st.floats(0.0, 359.999)), speed=draw(st.floats(0.01, 3000.0))
                )
                if moving
                else None,
                identity=identity,
                sidc=with_identity("10061000001211000000", identity),
                status=draw(st.sampled_from(list(TrackStatus))),
                updated_at=NOW - timedelta(seconds=draw(st.integers(0, 86_400))),
                subject=draw(st.none() | st.from_regex(r"[A-Z][A-Z0-9-]{0,12}", fullmatch=True)),
                name=draw(st.none() | NAMES),
                quantity=draw(st.none() | st.integers(0, 1000)),
            )
        )
    return found


@given(tracks())
@settings(max_examples=80, deadline=None)
def test_tracks_round_trip_through_nvg(before: list[Track]) -> None:
    result = read(export(before))
    assert result.skipped == []
    assert len(result.reports) == len(before)
    for track_, report in zip(before, result.reports, strict=True):
        assert report.subject == f"nvg:{track_.id}"
        assert report.name == track_name(track_)
        assert (report.identity, report.sidc) == (track_.identity, track_.sidc)
        assert report.status is track_.status
        assert report.observed_at == track_.updated_at
        here = (report.position.lon, report.position.lat)
        assert metres(here, (track_.position.lon, track_.position.lat)) < 1.0
        assert report.position.alt == track_.position.alt
        assert report.quantity == track_.quantity
        if track_.velocity is None:
            assert report.velocity is None
        else:
            assert report.velocity is not None
            assert report.velocity.speed == pytest.approx(track_.velocity.speed, rel=1e-3)
            assert report.velocity.course == pytest.approx(track_.velocity.course)


ROTATED = f"""<nvg xmlns="{NVG_2_0}" version="2.0.2">
<ellipse uri="e" label="E" cx="18" cy="53" rx="5000" ry="800" rotation="30" style="fill:#00F"/>
<rect uri="r" label="R" cx="18.2" cy="53" rx="4000" ry="900" rotation="300"/>
<arc uri="a" label="A" cx="18.4" cy="53" rx="6000" ry="2000" rotation="75" startangle="10"
  endangle="200"/>
</nvg>"""


def test_rotated_shapes_and_styles_survive_an_export_and_a_second_import() -> None:
    first = read(ROTATED.encode()).overlays
    again = read(export([], first)).overlays
    assert [o.kind for o in again] == [OverlayKind.AREA, OverlayKind.AREA, OverlayKind.LINE]
    assert again[0].style == "fill:#00F"
    for before, after in zip(first, again, strict=True):
        assert len(before.coordinates) == len(after.coordinates)
        for a, b in zip(before.coordinates, after.coordinates, strict=True):
            assert metres(a, b) < 1.0
    valid = Overlay(
        id="v",
        name="V",
        kind=OverlayKind.POINT,
        coordinates=((1.0, 2.0),),
        label=LABEL,
        valid_from=NOW,
        valid_to=NOW + timedelta(days=1),
    )
    [kept] = read(export([], [valid])).overlays
    assert (kept.valid_from, kept.valid_to) == (valid.valid_from, valid.valid_to)


def test_a_groups_own_attributes_are_listed_and_a_negative_speed_refused() -> None:
    grouped = (
        f'<nvg xmlns="{NVG_2_0}" version="2.0.2">\n'
        '<g uri="g1" label="Phase 2" style="stroke:blue"><point uri="p" x="1" y="2"/></g></nvg>'
    )
    result = read(grouped.encode())
    assert [(s.element, s.line, s.reason) for s in result.skipped] == [
        ("g", 2, "attribute 'label' of a group not imported"),
        ("g", 2, "attribute 'style' of a group not imported"),
    ]
    negative = f'<nvg xmlns="{NVG_2_0}" version="2.0.2"><point x="1" y="2" speed="-5"/></nvg>'
    with pytest.raises(NvgError, match=r"<point> at line 1: speed '-5'"):
        read(negative.encode())


def test_a_multipoints_leftovers_are_listed_once() -> None:
    shape_ = '<multipoint uri="m" points="1,2 3,4" dx="1"/>'
    data = f'<nvg xmlns="{NVG_2_0}" version="2.0.2">{shape_}</nvg>'
    result = read(data.encode())
    assert len(result.overlays) == 2
    assert [(s.element, s.reason) for s in result.skipped] == [
        ("multipoint", "attribute 'dx' not imported")
    ]
