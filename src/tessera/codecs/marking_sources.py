"""Where NVG, KML and CoT files carry their security markings: the texts, and the element
and line each is on, for ``tessera.codecs.import_labels``. Pure: parsed XML in.

* **NVG.** The ``classification`` attribute: NVG 1.4 and 1.5 define it on the ``<nvg>``
  root ("the classification of the data in this NVG section"; nvg.data.1.4.xsd and
  nvg.data.1.5.xsd); NVG 2.0.x dropped it from the schema but allows any attribute there
  and on every shape, and 2.0.2 writers keep it (``classification="NOT CLASSIFIED"``), so
  Tessera reads it on the root, on groups and on shapes. NVG 2.0.2 (nvg.data.2.0.xsd)
  names ``BindingInformation`` in the ``extension`` block as the container for XML
  security labels, and ``metadata`` for NDMS / Dublin Core metadata, on the root and on
  every shape: Tessera reads a STANAG 4774 confidentiality label found in either
  (``ConfidentialityInformation``: ``PolicyIdentifier``, ``Classification`` and its
  ``Releasable to`` categories), and NDMS's ``security.policy``,
  ``security.classification`` (spelt ``security.classifcation`` in NVG 1.5's ndms.xsd)
  and ``security.category``.
* **KML.** KML 2.2 has no marking of its own. Tessera reads ``ExtendedData`` fields named
  ``classification`` and ``releasable_to`` (``<Data name=...><value>`` or ``SimpleData``)
  on the Document, Folders and Placemarks, as its own KML export writes them on every
  placemark; and the banner convention on the Document: a ``name`` or ``description``
  whose first line is a classification, alone or followed by ``//`` and caveats
  (``SECRET//REL TO NATO, UKR``).
* **CoT.** The event's ``access`` attribute (CoT Event 2.0: who has access to the event;
  ATAK writes a level, ``Unclassified`` ... ``Secret``, or ``Undefined`` for none), and
  the ``caveat`` and ``releaseableTo`` attributes TAK Server carries beside it
  (CotEvent fields 16 and 17 of its protobuf; ``releasableTo`` read too).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Final

from lxml import etree

from tessera.codecs.cot_model import DEFAULT_MAX_DEPTH
from tessera.codecs.cot_safe_xml import parse_document
from tessera.codecs.import_labels import Found
from tessera.codecs.markings import MarkingError, compose

STANAG_4774: Final = "urn:nato:stanag:4774:confidentialitymetadatalabel"
RELEASE_CATEGORIES: Final = frozenset({"RELEASABLE TO", "REL TO"})
NDMS_CLASSIFICATION: Final = frozenset({"security.classification", "security.classifcation"})
KML_FIELDS: Final = frozenset({"classification", "releasable_to"})
COT_NONE: Final = "undefined"  # ATAK's and iTAK's access when none was chosen


def nvg_markings(element: etree._Element) -> list[Found]:
    """The markings an NVG element carries itself (not those of its members)."""
    where = _where(element)
    found = []
    attribute = element.get("classification")
    if attribute is not None:
        found.append(Found(attribute, where))
    for child in _children(element):
        name = _local(child)
        if name in ("extension", "metadata"):
            found += _stanag_4774(child, where)
        if name == "metadata":
            found += _ndms(child, where)
    return found


def kml_markings(element: etree._Element, *, document: bool = False) -> list[Found]:
    """The markings a KML feature carries in its ``ExtendedData`` (and, for the file's
    ``document``, in its title lines)."""
    where = _where(element)
    fields: list[tuple[str, str]] = []
    for extended in _children(element, "ExtendedData"):
        for data in _children(extended, "Data"):
            fields.append((data.get("name") or "", _text(next(_children(data, "value"), None))))
        for schema_data in _children(extended, "SchemaData"):
            for simple in _children(schema_data, "SimpleData"):
                fields.append((simple.get("name") or "", _text(simple)))
    found = []
    for name, value in fields:
        key = name.strip().lower()
        if key not in KML_FIELDS or not value:
            continue
        text = compose(value) if key == "classification" else compose(None, releasable_to=value)
        found.append(Found(text, where))
    if document:
        for title in (*_children(element, "name"), *_children(element, "description")):
            lines = html.unescape(title.text or "").splitlines()
            first = next((line for line in lines if line.strip()), "")
            found.append(Found(first, _where(title), banner=True))
    return found


def cot_markings(raw: bytes, access: str | None, where: str) -> list[Found]:
    """The markings of one CoT event (``raw``, already read as ``access``)."""
    attributes: dict[str, str] = {}
    # The event was parsed already; only the attributes TAK Server adds need a second look.
    if b"caveat" in raw or b"eleas" in raw:
        root = parse_document(raw, max_bytes=len(raw), max_depth=DEFAULT_MAX_DEPTH)
        attributes = {str(key): str(value) for key, value in root.attrib.items()}
    level = access if access is not None and access.strip().lower() != COT_NONE else None
    caveat = attributes.get("caveat")
    releasable = attributes.get("releaseableTo", attributes.get("releasableTo"))
    text = compose(level, caveats=[caveat] if caveat else [], releasable_to=releasable)
    return [Found(text, where)] if text else []


def _stanag_4774(container: etree._Element, where: str) -> list[Found]:
    found = []
    for info in container.iter():
        if _local(info) != "ConfidentialityInformation" or not _namespace(info).startswith(
            STANAG_4774
        ):
            continue
        policy = classification = None
        caveats: list[str] = []
        releasable: list[str] | None = None
        for child in _children(info):
            name = _local(child)
            if name == "PolicyIdentifier":
                policy = _text(child)
            elif name == "Classification":
                classification = _text(child)
            elif name == "Category":
                values = [_text(value) for value in _children(child, "GenericValue")]
                tag = " ".join((child.get("TagName") or "").split())
                if (child.get("Type") or "").strip().upper() == "INFORMATIVE":
                    continue  # informative categories restrict nobody (STANAG 4774)
                if tag.upper() in RELEASE_CATEGORIES:
                    releasable = [*(releasable or []), *values]
                else:
                    caveats.append(" ".join([tag or "Category", *values]))
        line = f"{where}, STANAG 4774 label at line {info.sourceline}"
        if not classification:  # the one element 4774 requires: never read as no marking
            raise MarkingError(f"{line}: the label has no Classification")
        joined = None if releasable is None else ", ".join(releasable)
        text = compose(classification, policy=policy, caveats=caveats, releasable_to=joined)
        found.append(Found(text, line))
    return found


def _ndms(metadata: etree._Element, where: str) -> list[Found]:
    fields: dict[str, list[str]] = {}
    for element in metadata.iter():
        name = _local(element)
        if name.startswith("security."):
            fields.setdefault(name, []).append(_text(element))
    policy = next(iter(fields.get("security.policy", [])), None)
    categories = fields.get("security.category", [])
    levels = [value for name in sorted(NDMS_CLASSIFICATION) for value in fields.get(name, [])]
    texts = [compose(level, policy=policy, caveats=categories) for level in levels]
    if not levels and categories:
        texts.append(compose(None, caveats=categories))
    return [Found(text, f"{where}, NDMS metadata") for text in texts if text]


def _children(element: etree._Element, name: str | None = None) -> Iterator[etree._Element]:
    """Child elements, by local name in any namespace (or none) when ``name`` is given."""
    if name is None:
        return (child for child in element if isinstance(child.tag, str))
    return element.iterchildren(f"{{*}}{name}")


def _where(element: etree._Element) -> str:
    return f"<{_local(element)[:40]}> at line {element.sourceline}"


def _local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _namespace(element: etree._Element) -> str:
    tag = element.tag
    return (etree.QName(tag).namespace or "") if isinstance(tag, str) else ""


def _text(element: etree._Element | None) -> str:
    return "" if element is None else " ".join((element.text or "").split())
