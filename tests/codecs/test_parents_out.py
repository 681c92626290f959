"""A unit's formation sent out: in CoT as a ``link relation="p-p"`` to the formation's uid
(read back as its parent), in NVG as Tessera's ``parent`` field naming the formation's
point (read back as that point's subject), in KML as ExtendedData."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import msgspec
from lxml import etree

from tessera.codecs.cot import encode_event, parse_event
from tessera.codecs.cot_relations import parent_uid
from tessera.codecs.cot_reports import event_to_report, track_to_event
from tessera.codecs.kml_write import write_kml
from tessera.codecs.nvg_read import read_nvg
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
)
from tests.codecs.nvg_schema import assert_valid_nvg

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
LABEL = Label("RESTRICTED", ("NATO",))
COMPANY_SIDC = "10031000151211000000"
BATTALION_SIDC = "10031000161211000000"


def unit(subject: str, sidc: str, parent: str | None, lat: float) -> Track:
    return Track(
        id=f"sub-{subject}",
        position=Position(lat=lat, lon=18.0),
        velocity=None,
        identity=Identity.FRIEND,
        identity_confidence=1.0,
        sidc=sidc,
        status=TrackStatus.CONFIRMED,
        first_at=NOW - timedelta(hours=1),
        updated_at=NOW,
        subject=subject,
        quantity=None,
        grading=Grading.parse("A1"),
        label=LABEL,
        sources=(Source(id=subject, kind=SourceKind.UNIT),),
        lineage=(),
        report_count=1,
        parent=parent,
    )


COMPANY = unit("BLUE-COY-7", COMPANY_SIDC, "BLUE-BN-2", 53.1)
BATTALION = unit("BLUE-BN-2", BATTALION_SIDC, None, 53.2)


def test_cot_sends_a_units_formation_as_its_parent_link() -> None:
    event = track_to_event(COMPANY, picture="NATO", now=NOW, stale_after=timedelta(minutes=5))
    read = parse_event(encode_event(event))
    assert read.link_uid == "BLUE-BN-2"
    assert b'relation="p-p"' in encode_event(event)
    # What Tessera sends, another Tessera reads as the unit's formation.
    assert parent_uid(read) == "BLUE-BN-2"
    report = event_to_report(read, sender_uid="gateway", new_id=lambda: "r1", now=NOW, label=LABEL)
    assert report is not None and report.parent == "BLUE-BN-2"
    alone = track_to_event(BATTALION, picture="NATO", now=NOW, stale_after=timedelta(minutes=5))
    assert alone.link_uid is None and b"<link" not in encode_event(alone)


def test_nvg_names_the_formations_point_and_reads_it_back_as_its_subject() -> None:
    data = write_nvg([COMPANY, BATTALION], [], picture="NATO", classification="RESTRICTED", now=NOW)
    assert_valid_nvg(data)
    ids = (f"id-{n}" for n in itertools.count())
    imported = read_nvg(data, label=LABEL, author="staff", now=NOW, new_id=lambda: next(ids))
    assert imported.skipped == []
    by_name = {report.name: report for report in imported.reports}
    company, battalion = by_name["BLUE-COY-7"], by_name["BLUE-BN-2"]
    assert company.parent == battalion.subject
    assert battalion.parent is None


def test_kml_carries_the_formation_in_extended_data() -> None:
    data = write_kml(
        [COMPANY], [], picture="NATO", classification="RESTRICTED", icon_href=lambda s: s
    )
    root = etree.fromstring(data)
    values = {element.get("name"): element.findtext("{*}value") for element in root.iter("{*}Data")}
    assert values["parent"] == "BLUE-BN-2"
    assert "parent" not in {
        element.get("name")
        for element in etree.fromstring(
            write_kml(
                [msgspec.structs.replace(COMPANY, parent=None)], [], picture="NATO",
                classification="RESTRICTED", icon_href=lambda s: s,
            )
        ).iter("{*}Data")
        if element.findtext("{*}value")
    }  # fmt: skip
