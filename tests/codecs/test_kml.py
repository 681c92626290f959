"""KML and KMZ: a picture exports as well-formed, structurally valid KML; overlays survive
the round trip through read_kml; hostile files only ever give a KmlError."""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from tessera.codecs.geojson_export import overlay_geometry, picture_feature_collection
from tessera.codecs.kml_read import KmlError, KmlImport, read_kml
from tessera.codecs.kml_write import KML_NS, icon_path, used_sidcs, write_kml, write_kmz
from tessera.core.model import (
    Grading,
    Identity,
    Label,
    Position,
    Source,
    SourceKind,
    Track,
    TrackStatus,
)
from tessera.core.overlays import Coordinate, Overlay, OverlayKind
from tests.kml_schema import valid_kml

T0 = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
K = "{" + KML_NS + "}"
HOSTILE = "10061000001211000000"
FRIEND = "10031000001211000000"
POINT_SIDC = "10032500001313000000"
NATO = Label("SECRET", ("NATO",))
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def track(
    identifier: str,
    sidc: str,
    *,
    subject: str | None = None,
    alt: float | None = None,
    status: TrackStatus = TrackStatus.CONFIRMED,
) -> Track:
    return Track(
        id=identifier,
        position=Position(lat=53.1, lon=18.0, alt=alt),
        velocity=None,
        identity=Identity.HOSTILE if sidc == HOSTILE else Identity.FRIEND,
        identity_confidence=0.87,
        sidc=sidc,
        status=status,
        first_at=T0,
        updated_at=T0 + timedelta(minutes=5),
        subject=subject,
        quantity=None,
        grading=Grading.parse("B2"),
        label=NATO,
        sources=(Source("s-1", SourceKind.UNIT),),
        lineage=("r-1",),
        report_count=3,
    )


def picture_tracks() -> list[Track]:
    return [
        track("t-2", HOSTILE, subject="bravo"),
        track("t-1", FRIEND, alt=120.0),
        track("t-3", HOSTILE),
    ]


def shape(
    identifier: str, name: str, kind: OverlayKind, *points: Coordinate, **extra: Any
) -> Overlay:
    return Overlay(
        id=identifier, name=name, kind=kind, coordinates=points, label=NATO,
        author="nato-officer", updated_at=T0, **extra,
    )  # fmt: skip


def picture_overlays() -> list[Overlay]:
    square = ((18.0, 53.0), (18.1, 53.0), (18.1, 53.1), (18.0, 53.1), (18.0, 53.0))
    return [
        shape("o-point", "Bridge", OverlayKind.POINT, (18.0, 53.0), sidc=POINT_SIDC,
              remarks="Load class <60> & checked"),
        shape("o-line", "Route BLUE", OverlayKind.LINE, (18.0, 53.0), (18.1, 53.05, 80.0),
              (18.2, 53.0), valid_from=T0, valid_to=T0 + timedelta(hours=6)),
        shape("o-area", "Area ALPHA", OverlayKind.AREA, *square),
        shape("o-circle", "Exclusion", OverlayKind.CIRCLE, (18.3, 53.2), radius_m=2500.0,
              valid_from=T0),
        shape("o-corridor", "Air corridor", OverlayKind.CORRIDOR, (17.0, 52.0), (17.5, 52.2),
              (18.0, 52.1), width_m=4000.0),
    ]  # fmt: skip


def write_picture() -> bytes:
    return valid_kml(
        write_kml(
            picture_tracks(),
            picture_overlays(),
            picture="NATO-SECRET",
            classification="SECRET",
            icon_href=lambda sidc: f"https://symbols.example/{sidc}.png",
        )
    )


def read(data: bytes, **options: int) -> KmlImport:
    ids = (f"k-{n}" for n in itertools.count())
    return read_kml(
        data, label=NATO, author="importer", now=T0, new_id=lambda: next(ids), **options
    )


# -- writing -------------------------------------------------------------------------------


def test_written_kml_is_well_formed_and_structurally_valid() -> None:
    root = etree.fromstring(write_picture())
    assert root.tag == K + "kml"
    assert all(element.tag.startswith(K) for element in root.iter())
    (document,) = root
    assert document.findtext(K + "name") == "NATO-SECRET"
    assert "SECRET" in (document.findtext(K + "description") or "")
    tracks_folder, overlays_folder = document.findall(K + "Folder")
    assert len(tracks_folder.findall(K + "Placemark")) == 3
    assert len(overlays_folder.findall(K + "Placemark")) == 5
    styles = {style.get("id"): style for style in document.findall(K + "Style")}
    assert set(styles) == {f"sidc-{sidc}" for sidc in (HOSTILE, FRIEND, POINT_SIDC)}
    for placemark in root.iter(K + "Placemark"):
        url = placemark.findtext(K + "styleUrl")
        assert url is None or url[1:] in styles
        # Feature children in the order the KML 2.2 schema lays down, geometry last.
        order = ["name", "description", "TimeStamp", "TimeSpan", "styleUrl", "ExtendedData"]
        children = [etree.QName(child).localname for child in placemark]
        assert children[:-1] == [name for name in order if name in children]
        assert children[-1] in ("Point", "LineString", "Polygon")


def test_track_placemarks_carry_the_track_fields() -> None:
    root = etree.fromstring(write_picture())
    placemarks = list(root.iter(K + "Placemark"))[:3]
    assert [p.findtext(K + "name") for p in placemarks] == ["t-1", "bravo", "t-3"]
    bravo = placemarks[1]
    data = {d.get("name"): d.findtext(K + "value") for d in bravo.iter(K + "Data")}
    assert data["identity"] == "hostile" and data["identity_confidence"] == "0.87"
    assert data["status"] == "confirmed" and data["grading"] == "B2"
    assert data["classification"] == "SECRET" and data["releasable_to"] == "NATO"
    assert data["updated_at"] == "2026-05-04T09:35:00Z" and data["report_count"] == "3"
    assert data["mgrs"] == "34U BD 99159 87601"
    description = bravo.findtext(K + "description") or ""
    assert "identity: hostile<br/>" in description and "grading: B2" in description
    assert bravo.findtext(f"{K}Point/{K}coordinates") == "18,53.1"
    assert placemarks[0].findtext(f"{K}Point/{K}coordinates") == "18,53.1,120"
    href = root.findtext(f".//{K}Style[@id='sidc-{HOSTILE}']/{K}IconStyle/{K}Icon/{K}href")
    assert href == f"https://symbols.example/{HOSTILE}.png"


def test_output_is_deterministic_whatever_the_input_order() -> None:
    again = write_kml(
        picture_tracks()[::-1],
        picture_overlays()[::-1],
        picture="NATO-SECRET",
        classification="SECRET",
        icon_href=lambda sidc: f"https://symbols.example/{sidc}.png",
    )
    assert again == write_picture()
    kmz = [
        valid_kml_kmz(
            write_kmz(tracks, overlays, picture="P", classification="SECRET", icons=icons())
        )
        for tracks, overlays in [(picture_tracks(), picture_overlays()), ([], [])]
    ]
    assert kmz[0] == write_kmz(
        picture_tracks()[::-1], picture_overlays(), picture="P", classification="SECRET",
        icons=icons(),
    )  # fmt: skip


def valid_kml_kmz(kmz: bytes) -> bytes:
    """A KMZ, once its doc.kml is valid KML 2.2."""
    valid_kml(kmz)
    return kmz


def icons() -> dict[str, bytes]:
    return {sidc: PNG + sidc.encode() for sidc in (HOSTILE, FRIEND, POINT_SIDC)}


def test_kmz_holds_doc_kml_first_and_every_icon_it_refers_to() -> None:
    data = valid_kml_kmz(
        write_kmz(
            picture_tracks(),
            picture_overlays(),
            picture="P",
            classification="SECRET",
            icons=icons(),
        )
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names[0] == "doc.kml"
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
        root = etree.fromstring(archive.read("doc.kml"))
        hrefs = {href.text for href in root.iter(K + "href")}
        assert hrefs == {icon_path(sidc) for sidc in (HOSTILE, FRIEND, POINT_SIDC)}
        assert set(names[1:]) == hrefs
        assert archive.read(icon_path(HOSTILE)) == PNG + HOSTILE.encode()
    assert len(read(data).overlays) == 8  # read back: 3 track points and 5 overlays


def test_icons_carry_their_hot_spots_where_given() -> None:
    kml = valid_kml(
        write_kml(
            picture_tracks(),
            [],
            picture="P",
            classification="S",
            icon_href=icon_path,
            hot_spots={HOSTILE: (0.5, 0.5), FRIEND: (0.025, 0.0192)},
        )
    )
    root = etree.fromstring(kml)
    for sidc, x, y in [(HOSTILE, "0.5", "0.5"), (FRIEND, "0.025", "0.0192")]:
        icon_style = root.find(f".//{K}Style[@id='sidc-{sidc}']/{K}IconStyle")
        assert icon_style is not None
        # After Icon, as the KML 2.2 schema orders IconStyle's children.
        icon, hot_spot = icon_style
        assert (etree.QName(icon).localname, etree.QName(hot_spot).localname) == ("Icon", "hotSpot")
        attributes = [hot_spot.get(name) for name in ("x", "y", "xunits", "yunits")]
        assert attributes == [x, y, "fraction", "fraction"]
    # Without one, the viewer's default stands.
    assert next(etree.fromstring(write_picture()).iter(K + "hotSpot"), None) is None


def test_a_track_balloon_names_its_fields_for_people() -> None:
    root = etree.fromstring(write_picture())
    description = next(root.iter(K + "Placemark")).findtext(K + "description") or ""
    assert "last update: 2026-05-04T09:35:00Z" in description
    assert "identity confidence: 0.87" in description and "reports: 3" in description


def test_kmz_without_an_icon_for_a_sidc_it_uses_is_refused() -> None:
    with pytest.raises(ValueError, match=FRIEND):
        write_kmz(picture_tracks(), [], picture="P", classification="S", icons={HOSTILE: PNG})
    assert used_sidcs(picture_tracks(), []) == [FRIEND, HOSTILE]


# -- reading -------------------------------------------------------------------------------


def test_overlays_round_trip_through_kml() -> None:
    imported = read(write_picture())
    by_name = {overlay.name: overlay for overlay in imported.overlays}
    assert imported.skipped == ()
    for original in picture_overlays():
        back = by_name[original.name]
        expected = overlay_geometry(original)
        assert overlay_geometry(back) == expected  # circles and corridors as polygons
        kind = {"Point": OverlayKind.POINT, "LineString": OverlayKind.LINE}
        assert back.kind == kind.get(expected["type"], OverlayKind.AREA)
        assert (back.remarks, back.valid_from, back.valid_to) == (
            original.remarks,
            original.valid_from,
            original.valid_to,
        )
        assert (back.label, back.author, back.updated_at) == (NATO, "importer", T0)
    assert len({overlay.id for overlay in imported.overlays}) == 8


def test_multigeometry_parts_unsupported_features_and_lenient_rings() -> None:
    kml = b"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document>
  <Placemark><name>Two</name>
    <TimeSpan><begin>2026-05</begin><end>2026-05-04T12:00:00+02:00</end></TimeSpan>
    <MultiGeometry>
      <Point><coordinates>18,53</coordinates></Point>
      <Polygon><outerBoundaryIs><LinearRing><coordinates>
        18,53 18.1,53 18.1,53.1</coordinates></LinearRing></outerBoundaryIs>
        <innerBoundaryIs><LinearRing><coordinates>0,0 1,0 1,1 0,0</coordinates></LinearRing>
        </innerBoundaryIs></Polygon>
    </MultiGeometry></Placemark>
  <Placemark><name>Nowhere</name></Placemark>
  <Placemark><gx:Track><when>2026-05-04T00:00:00Z</when></gx:Track></Placemark>
  <GroundOverlay><name>Image</name></GroundOverlay>
</Document></kml>"""
    imported = read(kml)
    assert [o.name for o in imported.overlays] == ["Two (1/2)", "Two (2/2)"]
    point, area = imported.overlays
    assert point.coordinates == ((18.0, 53.0),)
    assert area.coordinates[0] == area.coordinates[-1] and len(area.coordinates) == 4
    assert point.valid_from == datetime(2026, 5, 1, tzinfo=UTC)
    assert point.valid_to == datetime(2026, 5, 4, 10, tzinfo=UTC)
    assert [(s.element, s.line) for s in imported.skipped] == [
        ("innerBoundaryIs", 10),
        ("Placemark", 13),
        ("Track", 14),
        ("GroundOverlay", 15),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<Point><coordinates>18;53</coordinates></Point>", "line 1: Point: '18;53'"),
        (b"<Point><coordinates>200,53</coordinates></Point>", "outside WGS 84"),
        (b"<Point><coordinates>nan,53</coordinates></Point>", "not lon,lat"),
        (b"<LineString><coordinates>1,2</coordinates></LineString>", "fewer than 2"),
        (b"<Polygon/>", "no outerBoundaryIs"),
        (b"<TimeSpan><begin>soon</begin></TimeSpan><Point><coordinates>1,2</coordinates>"
         b"</Point>", "'soon' is not a KML time"),
    ],
)  # fmt: skip
def test_a_malformed_placemark_fails_the_whole_file(body: bytes, message: str) -> None:
    good = b"<Placemark><Point><coordinates>1,2</coordinates></Point></Placemark>"
    kml = b'<kml xmlns="http://www.opengis.net/kml/2.2">' + good + b"<Placemark>"
    with pytest.raises(KmlError, match=re.escape(message)):
        read(kml + body + b"</Placemark></kml>")


def test_not_kml_is_refused() -> None:
    with pytest.raises(KmlError, match="root element is <event>"):
        read(b"<event/>")
    with pytest.raises(KmlError, match="larger than 100 bytes"):
        read(write_picture(), max_bytes=100)


# -- hostile input -------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&b;</name></Placemark></kml>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&x;</name></Placemark></kml>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL, b"<kml>&x;</kml>", b""])
def test_entities_are_refused(data: bytes) -> None:
    with pytest.raises(KmlError):
        read(data)


def only_kml_errors(data: bytes) -> None:
    with contextlib.suppress(KmlError):
        read(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_garbage_gives_only_kml_errors(data: bytes) -> None:
    only_kml_errors(data)
    only_kml_errors(b"PK\x03\x04" + data)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_truncated_kml_and_kmz_are_refused(data: st.DataObject) -> None:
    kml = write_picture().rstrip()
    with pytest.raises(KmlError):
        read(kml[: data.draw(st.integers(0, len(kml) - 1))])
    kmz = write_kmz([], picture_overlays(), picture="P", classification="S", icons=icons())
    valid_kml(kmz)
    with pytest.raises(KmlError):
        read(kmz[: data.draw(st.integers(0, len(kmz) - 1))])


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([BILLION_LAUGHS, EXTERNAL]), st.integers(0, 10_000), st.binary(max_size=8))
def test_entity_inputs_mangled_give_only_kml_errors(base: bytes, at: int, noise: bytes) -> None:
    at %= len(base)
    with pytest.raises(KmlError):
        read(base[:at] + noise + base[at:])


def zipped(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused() -> None:
    body = b'<kml xmlns="http://www.opengis.net/kml/2.2">' + b" " * 20_000_000 + b"</kml>"
    bomb = zipped([("doc.kml", body)])
    assert len(bomb) < 100_000
    with pytest.raises(KmlError, match="larger than"):
        read(bomb)
    with pytest.raises(KmlError, match="more than 1000 entries"):
        read(zipped([(f"{n}.png", b"") for n in range(1001)]))
    with pytest.raises(KmlError, match=r"no \.kml entry"):
        read(zipped([("a.png", PNG)]))


def test_a_kmz_is_read_from_its_first_kml_entry() -> None:
    first = b'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>A</name>'
    first += b"<Point><coordinates>1,2</coordinates></Point></Placemark></kml>"
    imported = read(zipped([("icons/x.png", PNG), ("files/a.KML", first), ("b.kml", b"junk")]))
    assert [overlay.name for overlay in imported.overlays] == ["A"]


# -- an independent reader -----------------------------------------------------------------


def ogrinfo_feature_count(path: Path | str) -> int:
    result = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True, text=True, check=True
    )
    return sum(int(count) for count in re.findall(r"Feature Count: (\d+)", result.stdout))


def need_ogrinfo() -> None:
    if shutil.which("ogrinfo") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ogrinfo (Debian gdal-bin) is required in CI")
        pytest.skip("ogrinfo (Debian gdal-bin) is not installed")


def test_ogrinfo_reads_the_written_kml_and_geojson(tmp_path: Path) -> None:
    need_ogrinfo()
    kml = tmp_path / "picture.kml"
    kml.write_bytes(write_picture())
    assert ogrinfo_feature_count(kml) == 8
    collection = picture_feature_collection(
        picture_tracks(), picture_overlays(), picture="NATO-SECRET", classification="SECRET"
    )
    geojson = tmp_path / "picture.geojson"
    geojson.write_bytes(msgspec.json.encode(collection))
    assert ogrinfo_feature_count(geojson) == 8
