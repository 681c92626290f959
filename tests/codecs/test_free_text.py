"""Control characters in files and from TAK clients: dropped by the codec, so the import
or the event goes through and no report or overlay stores one. Text stored before that
rule still exports as valid NVG and KML."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
from lxml import etree
from takproto.proto import TakMessage

from tessera.codecs.cot import parse_event
from tessera.codecs.cot_proto import decode_payload
from tessera.codecs.cot_reports import event_to_report
from tessera.codecs.geojson_export import picture_feature_collection
from tessera.codecs.imports import read_import
from tessera.codecs.kml_read import read_kml
from tessera.codecs.kml_write import write_kml, write_kmz
from tessera.codecs.nvg_read import read_nvg
from tessera.codecs.nvg_write import write_nvg
from tessera.core.model import Label
from tessera.core.overlays import Overlay, OverlayKind
from tessera.core.text import FREE_TEXT_PATTERN
from tests.codecs.nvg_schema import assert_valid_nvg
from tests.kml_schema import valid_kml

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
LABEL = Label("UNCLASSIFIED", ("NATO",))
FREE_TEXT = re.compile(FREE_TEXT_PATTERN)
NVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<nvg xmlns="https://tide.act.nato.int/schemas/2012/10/nvg" version="2.0.2">\n'
    b'<point uri="p1" x="18.0" y="53.0" label="OP\x01 North\x7f">'
    b"<textInfo>hold\x0b until&#x1B; relieved&#65535;</textInfo></point>\n"
    b'<point uri="u1" x="18.1" y="53.1" symbol="app6d:10061000001211000000"'
    b' label="unit\x00" modifiers="T:2 COY\x7f"/>\n'
    b'<polyline uri="l1" points="18.0,53.0 18.1,53.1" label="&#1;&#x0;\x1f"/>\n'
    b"</nvg>\n"
)
KML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<kml xmlns="http://www.opengis.net/kml/2.2"><Document>\n'
    b"<Placemark><name>Check\x0cpoint\x7f 3</name>"
    b"<description>&lt;b&gt;ford&lt;/b&gt; &amp;#7;\x7f&#x8;</description>"
    b"<Point><coordinates>18.0,53.0</coordinates></Point></Placemark>\n"
    b"</Document></kml>\n"
)
COT = (
    b'<event version="2.0" uid="ANDROID-1" type="a-f-G-U-C" how="m-g"'
    b' time="2026-05-04T09:30:00Z" start="2026-05-04T09:30:00Z" stale="2026-05-04T13:35:00Z">'
    b'<point lat="53.1" lon="18.0" hae="80" ce="25" le="9999999"/>'
    b'<detail><contact callsign="ALPHA\x00\x00\x00"/><remarks>moving\x7f east&#x7;</remarks>'
    b"</detail></event>"
)


def ids() -> Callable[[], str]:
    counter = itertools.count()
    return lambda: f"id-{next(counter)}"


def test_an_nvg_file_with_control_characters_imports_without_them() -> None:
    result = read_nvg(NVG, label=LABEL, author="alice", now=NOW, new_id=ids())
    names = {overlay.id: overlay.name for overlay in result.overlays}
    assert names == {"nvg:p1": "OP North", "nvg:l1": "polyline"}
    [point] = [overlay for overlay in result.overlays if overlay.id == "nvg:p1"]
    assert point.remarks == "hold until relieved"
    [report] = result.reports
    assert (report.name, report.remarks) == ("unit", "modifier T: 2 COY")
    texts = [*names.values(), point.remarks, report.remarks, report.name or ""]
    assert all(FREE_TEXT.search(text) for text in texts)


def test_a_kml_file_with_control_characters_imports_without_them() -> None:
    [overlay] = read_kml(KML, label=LABEL, author="alice", now=NOW, new_id=lambda: "k1").overlays
    assert overlay.name == "Checkpoint 3"
    assert overlay.remarks == "<b>ford</b>"


def test_a_cot_event_with_control_characters_reports_without_them() -> None:
    event = parse_event(COT)
    assert event.callsign == "ALPHA"
    report = event_to_report(
        event, sender_uid="ANDROID-1", new_id=lambda: "r1", now=NOW, label=LABEL
    )
    assert report is not None and report.remarks == "ALPHA: moving east"
    batch = read_import(
        COT, file_format=None, label=LABEL, principal="alice", now=NOW, overlay_scope=str.upper
    )
    assert [report.remarks for report in batch.reports] == ["ALPHA: moving east"]


def test_a_tak_protocol_event_with_control_characters_keeps_its_event() -> None:
    message = TakMessage()
    cot = message.cotEvent
    cot.type, cot.uid, cot.how = "a-f-G-U-C", "ANDROID-1", "m-g"
    cot.sendTime = cot.startTime = 1_777_887_000_000
    cot.staleTime = cot.sendTime + 86_400_000
    cot.lat, cot.lon, cot.hae, cot.ce, cot.le = 53.1, 18.0, 80.0, 25.0, 9999999.0
    cot.access = "Undefined\x00"
    cot.detail.contact.callsign = "BRAVO\x00\x00"
    cot.detail.group.name = "\x1b"  # nothing left of it: absent
    cot.detail.group.role = "Team Lead"
    cot.detail.xmlDetail = "<remarks>on\x07 the\x7f bridge</remarks>"
    event = decode_payload(message.SerializeToString())
    assert (event.callsign, event.access, event.group_name) == ("BRAVO", "Undefined", None)
    assert event.remarks == "on the\x7f bridge"  # DEL is XML, so the event keeps it
    report = event_to_report(
        event, sender_uid="ANDROID-1", new_id=lambda: "r1", now=NOW, label=LABEL
    )
    assert report is not None and report.remarks == "BRAVO (Team Lead): on the bridge"


# -- out: text stored before the rule --------------------------------------------------------

ODD_TEXT = "ctl\u0001name\u007f\ufffe"


def odd_overlay() -> Overlay:
    return Overlay(
        id="odd",
        name=ODD_TEXT,
        kind=OverlayKind.AREA,
        coordinates=((18.0, 53.0), (18.1, 53.0), (18.1, 53.1), (18.0, 53.0)),
        remarks="bell\u0007 and nul\u0000",
        label=Label("UNCLASS\u0002IFIED"),
        author="planner",
    )


def test_every_export_writes_stored_control_characters_as_valid_documents() -> None:
    overlays = [odd_overlay()]
    nvg_bytes = write_nvg([], overlays, picture="COP\u0003", classification="UNCLASSIFIED", now=NOW)
    assert_valid_nvg(nvg_bytes)
    nvg = etree.fromstring(nvg_bytes)
    [polygon] = nvg.iter("{*}polygon")
    assert polygon.get("label") == "ctl\ufffdname\ufffd\ufffd"
    assert next(polygon.iter("{*}textInfo")).text == "bell\ufffd and nul\ufffd"
    kml = etree.fromstring(
        valid_kml(write_kml([], overlays, picture="COP", classification="\u0004", icon_href=str))
    )
    assert [name.text for name in kml.iter("{*}name")][-1] == "ctl\ufffdname\ufffd\ufffd"
    kmz = write_kmz([], overlays, picture="COP", classification="UNCLASSIFIED", icons={})
    etree.fromstring(valid_kml(kmz))
    # JSON carries every character: the GeoJSON keeps the text as stored.
    geojson = msgspec.json.encode(
        picture_feature_collection([], overlays, picture="COP", classification="UNCLASSIFIED")
    )
    assert json.loads(geojson)["features"][0]["properties"]["name"] == ODD_TEXT
