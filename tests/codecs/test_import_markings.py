"""Where NVG, KML and CoT files carry their security markings, read through read_import
(pure): NVG's classification attribute, STANAG 4774 labels and NDMS metadata; KML's
ExtendedData and Document banner; CoT's access, caveat and releaseableTo. The real samples
are read in place."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from tessera.codecs.import_labels import ImportLabels
from tessera.codecs.imports import ImportFileError, ImportLabelRequiredError, read_import
from tessera.codecs.kml_write import write_kml
from tessera.core.model import Label
from tessera.core.overlays import Overlay, OverlayKind
from tests.codecs.cot_samples import cot_sample
from tests.codecs.nvg_samples import nvg_sample
from tests.kml_schema import valid_kml

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def scope(file_id: str) -> str:
    """The scope the server would append to a file's overlay id (any will do here)."""
    return "scope"


NVG2 = "https://tide.act.nato.int/schemas/2012/10/nvg"
SLAB = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"
NATO = Label("UNCLASSIFIED", ("NATO",))


def labels(data: bytes, given: Label | None = None, default: Label | None = None) -> list[Label]:
    """Each item's label, in file order."""
    rule = ImportLabels(given=given, default=default)
    batch = read_import(
        data, file_format=None, label=rule, principal="alice", now=NOW, overlay_scope=scope
    )
    revisions = [revision.overlay.label for revision in batch.revisions if revision.overlay]
    return [report.label for report in batch.reports] + revisions


def refusal(data: bytes, given: Label | None = None) -> str:
    with pytest.raises(ImportFileError) as raised:
        labels(data, given)
    return str(raised.value)


def nvg(body: str, root: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<nvg xmlns="{NVG2}" version="2.0.2" {root}>\n'
        f"{body}\n</nvg>"
    ).encode()


POINT = '<point uri="p{n}" x="18.0" y="53.{n}" label="P{n}" {extra}/>'


def points(*extras: str) -> str:
    return "\n".join(POINT.format(n=n, extra=extra) for n, extra in enumerate(extras))


# -- NVG -------------------------------------------------------------------------------------


def test_a_real_nvg_2_0_2_file_marked_not_classified_is_unclassified() -> None:
    sample = nvg_sample("nvg-2.0.2-points__nvg-parser.nvg")
    assert set(labels(sample)) == {Label("UNCLASSIFIED")}  # no label, no default: its own
    assert set(labels(sample, given=NATO)) == {NATO}


def test_an_nvg_root_marked_above_the_label_given_is_refused_naming_it() -> None:
    data = nvg(points(""), root='classification="SECRET//REL TO NATO"')
    detail = refusal(data, given=NATO)
    assert detail.startswith("<nvg> at line 2: marked 'SECRET//REL TO NATO', above the label")
    assert set(labels(data, given=Label("SECRET", ("NATO",)))) == {Label("SECRET", ("NATO",))}
    too_wide = refusal(data, given=Label("SECRET", ("NATO", "UKR")))
    assert "the label given would release it to UKR" in too_wide


def test_a_shape_or_group_marked_stricter_keeps_its_own_marking() -> None:
    data = nvg(
        points("", 'classification="SECRET//REL TO NATO"')
        + '\n<g uri="g1" classification="CONFIDENTIAL">'
        + POINT.format(n=7, extra="")
        + "</g>",
        root='classification="RESTRICTED//REL TO NATO, UKR"',
    )
    shared = Label("RESTRICTED", ("NATO", "UKR"))
    assert labels(data) == [
        shared,
        Label("SECRET", ("NATO",)),
        Label("CONFIDENTIAL", ("NATO", "UKR")),
    ]
    detail = refusal(data, given=shared)
    assert detail.startswith("<point> at line 4: marked 'SECRET//REL TO NATO'")


def test_a_stanag_4774_label_in_a_shapes_extension_is_read() -> None:
    label = f"""<extension><BindingInformation><originatorConfidentialityLabel xmlns="{SLAB}">
  <ConfidentialityInformation>
    <PolicyIdentifier>NATO</PolicyIdentifier>
    <Classification>SECRET</Classification>
    <Category TagName="Releasable to" Type="PERMISSIVE">
      <GenericValue>UKR</GenericValue></Category>
    <Category TagName="Administrative" Type="INFORMATIVE">
      <GenericValue>STAFF</GenericValue></Category>
  </ConfidentialityInformation></originatorConfidentialityLabel></BindingInformation></extension>"""
    data = nvg(f'<point uri="p1" x="18.0" y="53.0">{label}</point>')
    assert labels(data, default=Label("UNCLASSIFIED", ("NATO", "UKR", "POL"))) == [
        Label("SECRET", ("NATO", "UKR"))
    ]
    detail = refusal(data, given=Label("CONFIDENTIAL"))
    assert detail.startswith("<point> at line 3, STANAG 4774 label at line 4: marked 'NATO SECRET")
    restrictive = data.replace(
        b'"Administrative" Type="INFORMATIVE"', b'"Codeword" Type="RESTRICTIVE"'
    )
    assert "caveat 'CODEWORD STAFF' is not one Tessera can enforce" in refusal(restrictive)
    unclassified = data.replace(b"<Classification>SECRET</Classification>", b"")
    assert refusal(unclassified).endswith(
        "STANAG 4774 label at line 4: the label has no Classification"
    )


def test_nvg_1_5_ndms_metadata_is_read_with_its_schemas_spelling() -> None:
    data = b"""<nvg xmlns="http://tide.act.nato.int/schemas/2009/10/nvg"
  xmlns:dcterms="http://purl.org/dc/terms/" version="1.5.1">
<point x="18.0" y="53.0" label="OP"/>
<metadata><dcterms:security.policy>NATO</dcterms:security.policy>
<dcterms:security.classifcation>RESTRICTED</dcterms:security.classifcation></metadata>
</nvg>"""
    assert labels(data) == [Label("RESTRICTED", ("NATO",))]
    assert "<nvg> at line 2, NDMS metadata: marked 'NATO RESTRICTED'" in refusal(data, given=NATO)


# -- KML -------------------------------------------------------------------------------------


def kml(document: str, placemark: str = "", folder: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>{document}
<Folder>{folder}
<Placemark><name>A</name>{placemark}<Point><coordinates>18,53</coordinates></Point></Placemark>
</Folder>
<Placemark><name>B</name><Point><coordinates>18,54</coordinates></Point></Placemark>
</Document></kml>""".encode()


def data_fields(**fields: str) -> str:
    values = "".join(f'<Data name="{k}"><value>{v}</value></Data>' for k, v in fields.items())
    return f"<ExtendedData>{values}</ExtendedData>"


def test_kml_extended_data_marks_the_document_folders_and_placemarks() -> None:
    data = kml(
        data_fields(classification="RESTRICTED", releasable_to="NATO UKR"),
        placemark=data_fields(classification="SECRET"),
    )
    shared = Label("RESTRICTED", ("NATO", "UKR"))
    assert labels(data) == [Label("SECRET", ("NATO", "UKR")), shared]
    assert refusal(data, given=shared).startswith("<Placemark> at line 4: marked 'SECRET'")
    assert "<Document> at line 2: marked 'REL TO NATO UKR'" in refusal(
        data, given=Label("SECRET", ("POL",))
    )
    in_folder = kml("", folder=data_fields(classification="CONFIDENTIAL"))
    assert labels(in_folder, default=NATO) == [Label("CONFIDENTIAL"), NATO]


def test_a_kml_document_banner_marks_the_file() -> None:
    data = kml("<name>SECRET//REL TO NATO</name>")
    assert set(labels(data, default=Label("UNCLASSIFIED"))) == {Label("SECRET", ("NATO",))}
    assert refusal(data, given=NATO).startswith("<name> at line 2: marked 'SECRET//REL TO NATO'")
    described = kml("<name>Exercise</name><description>NATO CONFIDENTIAL\nRoutes</description>")
    assert set(labels(described)) == {Label("CONFIDENTIAL", ("NATO",))}
    titled = kml("<name>SECRET routes</name>")  # a title, not a banner
    assert set(labels(titled, given=NATO)) == {NATO}


def test_tessera_s_own_kmz_export_imports_with_each_overlays_label() -> None:
    overlays = [
        Overlay(
            id=f"o{n}",
            name=f"O{n}",
            kind=OverlayKind.POINT,
            coordinates=((18.0, 53.0 + n),),
            label=label,
        )
        for n, label in enumerate(
            (Label("SECRET", ("NATO",)), Label("RESTRICTED", ("NATO", "UKR")))
        )
    ]
    doc = valid_kml(write_kml([], overlays, picture="NATO", classification="SECRET", icon_href=str))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as kmz:
        kmz.writestr("doc.kml", doc)
    assert labels(archive.getvalue()) == [overlay.label for overlay in overlays]
    assert "marked 'SECRET'" in refusal(archive.getvalue(), given=Label("RESTRICTED", ("NATO",)))


# -- CoT -------------------------------------------------------------------------------------

MARKER = cot_sample("atak-marker-2525-a-u-G__freetaktest.xml")


def event(attributes: str, uid: str = "m1", kind: str = "a-u-G") -> bytes:
    marker = MARKER.replace(b"uid='a0c524c6-0422-4382-9981-e39d1dc71730'", f"uid='{uid}'".encode())
    return marker.replace(b"type='a-u-G'", f"type='{kind}' {attributes}".encode())


def test_cot_access_caveat_and_releasable_to_mark_each_event() -> None:
    data = b"\n".join(
        (
            event("access='Unclassified'", uid="u1"),
            event("access='Secret' releaseableTo='NATO,UKR'", uid="s1"),
            event("access='Undefined'", uid="n1"),  # ATAK's "none chosen"
        )
    )
    default = Label("RESTRICTED", ("NATO", "POL", "UKR"))
    assert labels(data, default=default) == [  # its own marking, before the default
        Label("UNCLASSIFIED"),
        Label("SECRET", ("NATO", "UKR")),
        default,
    ]
    detail = refusal(data, given=Label("CONFIDENTIAL", ("NATO",)))
    assert detail.startswith("event 2 (line 17): marked 'Secret//REL TO NATO,UKR', above")
    unmarked = r"event 3 \(line \d+\) has no security marking"
    with pytest.raises(ImportLabelRequiredError, match=unmarked):
        labels(data)  # no label, no default: the unmarked event has none
    assert "caveat 'FOUO'" in refusal(event("access='Unclassified' caveat='FOUO'"), given=NATO)


def test_a_marked_event_refuses_the_file_even_when_it_is_not_imported() -> None:
    chat = cot_sample("atak-geochat-b-t-f__taky.xml").replace(
        b"<event ", b"<event access='Secret' ", 1
    )
    data = event("access='Unclassified'") + b"\n" + chat
    assert "marked 'Secret', above the label given (UNCLASSIFIED)" in refusal(data, given=NATO)


def test_real_cot_samples_marked_undefined_take_the_label_given() -> None:
    sample = cot_sample("itak-polygon-u-d-f__node-cot.xml")
    assert b"access='Undefined'" in sample
    batch = read_import(
        sample,
        file_format=None,
        label=ImportLabels(given=NATO),
        principal="a",
        now=NOW,
        overlay_scope=scope,
    )
    assert batch.labelled.label == NATO and batch.labelled.source == "given"


XML_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(XML_TEXT, XML_TEXT, XML_TEXT)
def test_garbage_markings_in_any_format_give_a_clean_refusal_never_a_crash(
    nvg_marking: str, kml_marking: str, access: str
) -> None:
    root = etree.Element(f"{{{NVG2}}}nvg", version="2.0.2", classification=nvg_marking)
    etree.SubElement(root, f"{{{NVG2}}}circle", uri="c", cx="18", cy="53", r="9")
    document = etree.Element("Document")
    etree.SubElement(document, "name").text = kml_marking
    escaped = etree.tostring(etree.Element("e", access=access))  # b'<e access="..."/>'
    cot = event(escaped[len(b"<e ") : -len(b"/>")].decode())
    files = (etree.tostring(root), b"<kml>" + etree.tostring(document) + b"</kml>", cot)
    for data in files:
        for rule in (ImportLabels(given=NATO), ImportLabels(default=NATO)):
            problem = None
            try:
                read_import(
                    data, file_format=None, label=rule, principal="a", now=NOW, overlay_scope=scope
                )
            except ImportFileError as exc:
                problem = str(exc)
            assert problem is None or problem.strip()
